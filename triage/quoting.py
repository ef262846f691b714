"""Cut the quoted history off a reply so the models read only what the customer wrote.

`strip_quoted(text)` always returns a *prefix* of `text` (right-stripped): entity and
answer offsets the models compute on it are then valid offsets into the stored
`Message.text_body`, which is what the dashboard highlights. That is why this is
written here rather than taken from PyPI: `mail-parser-reply` (MIT, maintained)
detects the same markers but returns re-normalised text (every line stripped,
separator lines removed), so offsets would drift; `quotequail` (MIT) keeps the text
unmodified but misses Outlook's bare "From:/Sent:" block and the German Outlook
header, and keeps the attribution line; `email-reply-parser` is English-only and
unmaintained since 2020; `talon` since 2017.

Recognised, in any order, the earliest one wins:
- a trailing block of "> " quoted lines (interleaved answers are kept);
- attribution lines, wrapped over up to three lines: "On ... wrote:" (Gmail, Apple
  Mail, Thunderbird), "Am ... schrieb ...:", "Le ... a écrit :", and the Dutch,
  Spanish and Italian forms;
- "-----Original Message-----" and its German/French/Spanish/Italian variants;
- Outlook's header block: "From:" followed within a few lines by "Sent:"/"Date:"
  (or "Von:"/"Gesendet:", "De :"/"Envoyé :", ...), with the "____" rule above it.
Forwarded messages are kept: what a customer forwards is usually the context.
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"""^\s*(?:
        On\s.{1,300}?\swrote\s?:
      | Am\s.{1,300}?\sschrieb.{0,200}?:
      | Le\s.{1,300}?\sa\s[ée]crit\s?:
      | Op\s.{1,300}?\sschreef.{0,200}?:
      | El\s.{1,300}?\sescribi[óo]\s?:
      | Il\s.{1,300}?\sha\sscritto\s?:
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# "Bob <bob@example.com> wrote:" with no date: only trusted when quotes follow.
_BARE_ATTRIBUTION = re.compile(
    r"^\s*\S.{0,200}?\s(?:wrote|schrieb|a\s[ée]crit|schreef|escribi[óo]|ha\sscritto)"
    r"\s?:\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original\s?Message|Urspr[üu]ngliche\s+Nachricht"
    r"|Original-?Nachricht|Message\s+d'origine|Message\s+original|Mensaje\s+original"
    r"|Messaggio\s+originale)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^\s*(?:-{2,}\s*(?:Forwarded\s+message|Weitergeleitete\s+Nachricht"
    r"|Message\s+transf[ée]r[ée]|Mensaje\s+reenviado|Messaggio\s+inoltrato)\s*-{2,}"
    r"|Begin\s+forwarded\s+message\s*:|Anfang\s+der\s+weitergeleiteten\s+Nachricht\s*:"
    r"|D[ée]but\s+du\s+message\s+r[ée]exp[ée]di[ée]\s*:)\s*$",
    re.IGNORECASE,
)
_FROM_FIELD = re.compile(r"^\s*\*?(?:From|Von|De|Van|Da|Från|Fra)\s?:\*?\s*\S", re.I)
_SENT_FIELD = re.compile(
    r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoy[ée]|Verzonden|Inviato|Enviado|Skickat"
    r"|Sendt)\s?:",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_QUOTED = re.compile(r"^\s*>")
# A wrapped attribution spans at most this many lines; an Outlook block puts the
# "Sent:" line at most this many lines below "From:".
_WRAP_LINES = 3
_HEADER_LINES = 4


def strip_quoted(text: str) -> str:
    """The customer's own words: `text` up to the first quote marker, right-stripped.

    Returns the whole text (right-stripped) when it holds no marker, or when cutting
    would leave nothing, so the models never get an empty message for a reply that
    only quotes.
    """
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    cut = _first_marker(lines)
    if cut is None:
        return text.rstrip()
    head = text[: starts[cut]].rstrip()
    return head if head else text.rstrip()


def _first_marker(lines: list[str]) -> int | None:
    bodies = [line.rstrip("\r\n") for line in lines]
    attributions = _attributions(bodies)
    # A marker only counts below the customer's first own line: not blank, not
    # quoted, not part of an attribution.
    first_own = next(
        (
            i
            for i, line in enumerate(bodies)
            if line.strip() and not _QUOTED.match(line) and i not in attributions
        ),
        None,
    )
    if first_own is None:
        return None
    trailing = _trailing_quote_block(bodies, first_own)
    for i in range(first_own + 1, len(bodies)):
        line = bodies[i]
        if trailing is not None and i >= trailing:
            return trailing
        if not line.strip():
            continue
        if _FORWARDED.match(line):
            return None  # everything below is forwarded context: keep it
        if _ORIGINAL_MESSAGE.match(line) or attributions.get(i) == i:
            return i
        if _is_outlook_block(bodies, i):
            return _with_rule_above(bodies, i, first_own)
    return trailing


def _attributions(lines: list[str]) -> dict[int, int]:
    """Line index -> first line of the attribution it belongs to."""
    found: dict[int, int] = {}
    for i in range(len(lines)):
        if i in found or not lines[i].strip():
            continue
        length = _attribution_length(lines, i)
        for j in range(i, i + length):
            found[j] = i
    return found


def _attribution_length(lines: list[str], index: int) -> int:
    """How many lines the attribution starting at `index` spans (0: none)."""
    window = ""
    for offset in range(_WRAP_LINES):
        if index + offset >= len(lines) or not lines[index + offset].strip():
            break  # a wrapped attribution never spans a blank line
        window = f"{window} {lines[index + offset].strip()}".strip()
        if not window.endswith(":"):
            continue  # every attribution ends in a colon: skip the regexes
        if _ATTRIBUTION.match(window):
            return offset + 1
        if _BARE_ATTRIBUTION.match(window) and _quote_follows(
            lines, index + offset + 1
        ):
            return offset + 1
    return 0


def _quote_follows(lines: list[str], index: int) -> bool:
    for line in lines[index:]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return False


def _is_outlook_block(lines: list[str], index: int) -> bool:
    if not _FROM_FIELD.match(lines[index]):
        return False
    following = lines[index + 1 : index + 1 + _HEADER_LINES]
    return any(_SENT_FIELD.match(line) for line in following)


def _with_rule_above(lines: list[str], index: int, first_own: int) -> int:
    above = index - 1
    while above > first_own and not lines[above].strip():
        above -= 1
    if above > first_own and _RULE.match(lines[above]):
        return above
    return index


def _trailing_quote_block(lines: list[str], first_own: int) -> int | None:
    """First line of the run of quoted/blank lines that ends the text, if any."""
    start = None
    for i in range(len(lines) - 1, first_own, -1):
        line = lines[i]
        if not line.strip():
            continue
        if _QUOTED.match(line):
            start = i
            continue
        break
    return start
