"""Split an email into sentences, keeping character offsets into the original.

A regex splitter rather than spaCy's parser: the MiniLM steps must not need spaCy,
and support mail breaks the rules parsers learn from (no capital after a full stop,
greetings on their own line, hard-wrapped plain text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Tokens ending in a full stop that do not end a sentence.
ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "no",
        "nr",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
        "approx",
        "ca",
        "incl",
        "ref",
        "tel",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    }
)
# End punctuation (with closing quotes/brackets) followed by whitespace, or a blank
# line. A single line break is not a boundary: plain-text mail is hard-wrapped.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n\s*\n")
_LAST_WORD = re.compile(r"([\w.]+)[.]$")
# Long mail is capped: the steps embed every sentence, and the opening carries the
# request far more often than page 3 of a forwarded thread.
MAX_SENTENCES = 80


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


def split_sentences(text: str, *, limit: int = MAX_SENTENCES) -> list[Sentence]:
    """Sentences of ``text`` with ``text[s.start:s.end] == s.text``, blanks dropped."""
    sentences: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if (
            _is_abbreviation(text[start : match.start()])
            and "\n\n" not in match.group()
        ):
            continue
        _append(sentences, text, start, match.start())
        start = match.end()
        if len(sentences) >= limit:
            return sentences[:limit]
    _append(sentences, text, start, len(text))
    return sentences[:limit]


def _is_abbreviation(chunk: str) -> bool:
    found = _LAST_WORD.search(chunk)
    if found is None:
        return False
    word = found.group(1).lower()
    # A single letter followed by a full stop is an initial ("J. Smith").
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _append(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    # Offsets exclude surrounding whitespace so highlighted spans look clean.
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        sentences.append(Sentence(text=text[start:end], start=start, end=end))
