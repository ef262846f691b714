"""Translation offline: Debian's rule-based apertium where it has the pair.

No neural translation model ships in any registry (DESIGN §8). apertium covers a
few pairs with English (spa, cat, glg, eus, ...; no German) and is rough but
readable. Where Debian has no direct pair but has both halves through a pivot
language (French: `apertium-fr-es` then `apertium-eng-spa`), the two run in a chain;
the chain is the step's model id (``apertium:fr-es>spa-eng``) and every result names
the pivot (``"via": "es"``), so a reader, and the approver of a reply translated back
the same way, is told that the text went through a third language. Elsewhere the
step says plainly that no translation model is installed, rather than passing the
text through as if it were translated.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import shutil
import subprocess

from workers.contract import Translation
from workers.nlp.offline import OfflineSpecError, apertium_resident, expect

logger = logging.getLogger(__name__)

# ISO 639-1 (what language detection returns) -> apertium's ISO 639-3 names.
ISO3: dict[str, str] = {
    "en": "eng",
    "es": "spa",
    "ca": "cat",
    "gl": "glg",
    "eu": "eus",
    "pt": "por",
    "fr": "fra",
    "it": "ita",
    "de": "deu",
    "nl": "nld",
    "oc": "oci",
    "ro": "ron",
    "eo": "epo",
}
# Pivot languages tried in order when a pair has no direct mode: Spanish is the hub
# of Debian's apertium pairs (fr-es, pt-es, ita-spa, ... and spa-eng), Catalan next.
PIVOTS = ("es", "ca")
TIMEOUT_S = 60.0
METHOD = "apertium"
CHAIN = ">"
# Between two texts of one apertium run: a paragraph of its own holding a marker
# word and the text's index.
SPLIT = "\n\n{marker}{index}\n\n"


class TranslationUnavailable(RuntimeError):
    """No installed model translates this pair."""


@functools.cache
def binary() -> str | None:
    return shutil.which("apertium")


@functools.cache
def available_modes() -> frozenset[str]:
    """Installed directions, e.g. ``{"spa-eng", "eng-spa"}``; empty without apertium."""
    exe = binary()
    if exe is None:
        return frozenset()
    try:
        # The argv is fixed and the binary found on PATH by shutil.which; no shell.
        listed = subprocess.run(  # noqa: S603
            [exe, "-l"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        logger.warning("apertium -l failed; treating translation as unavailable")
        return frozenset()
    return frozenset(
        line.strip() for line in listed.stdout.splitlines() if line.strip()
    )


def _direct_mode(source: str, target: str) -> str | None:
    """The installed direction for two ISO 639-1 codes: Debian names some pairs
    with 639-3 codes (``spa-eng``) and some with 639-1 (``fr-es``)."""
    modes = available_modes()
    for src in dict.fromkeys((ISO3.get(source, source), source)):
        for tgt in dict.fromkeys((ISO3.get(target, target), target)):
            if f"{src}-{tgt}" in modes:
                return f"{src}-{tgt}"
    return None


def chain_for(source: str, target: str) -> tuple[tuple[str, ...], str | None]:
    """(modes to run in order, pivot language or None), or TranslationUnavailable.

    A direct pair wins; else the first pivot with both halves installed.
    """
    direct = _direct_mode(source, target)
    if direct:
        return (direct,), None
    for pivot in PIVOTS:
        if pivot in (source, target):
            continue
        first, second = _direct_mode(source, pivot), _direct_mode(pivot, target)
        if first and second:
            return (first, second), pivot
    raise TranslationUnavailable(
        f"no translation model installed for {source}->{target}"
    )


def mode_for(source: str, target: str) -> str:
    """The apertium direction (or chain, ``fr-es>spa-eng``) for ISO codes, or
    TranslationUnavailable."""
    modes, _ = chain_for(source, target)
    return CHAIN.join(modes)


def pairs_available(languages: list[str], target: str = "en") -> dict[str, str]:
    """language -> how apertium reaches ``target`` from it (direct or chained)."""
    found = {}
    for language in languages:
        try:
            found[language] = mode_for(language, target)
        except TranslationUnavailable:
            continue
    return found


class ApertiumTranslationStep:
    """One direction, e.g. es->en: ``[{"translation_text", ...}]`` per text."""

    name = "translation"
    tiny = False

    def __init__(self, source: str, target: str = "en") -> None:
        self.source = source
        self.target = target
        self.modes, self.via = chain_for(source, target)
        self.mode = CHAIN.join(self.modes)
        self.model_id = f"{METHOD}:{self.mode}"
        self.revision = _version()

    def __call__(
        self, texts: list[str], *, batch_size: int | None = None
    ) -> list[Translation]:
        todo = [i for i, text in enumerate(texts) if text.strip()]
        done = [texts[i] for i in todo]
        for mode in self.modes:
            done = self._run_many(mode, done)
        translated = dict(zip(todo, done, strict=True))
        return [self._result(text, translated.get(i)) for i, text in enumerate(texts)]

    def _result(self, text: str, translated: str | None) -> Translation:
        blank = translated is None
        return {
            "source_language": self.source,
            "target_language": self.target,
            "text": text if translated is None else translated,
            "skipped": blank,
            "reason": "empty text" if blank else None,
            # apertium takes the whole text at once; no segmentation.
            "segments": 0 if blank else 1,
            "via": None if blank else self.via,
        }

    def _run_many(self, mode: str, texts: list[str]) -> list[str]:
        """Each text translated, in one apertium run when it can be.

        Starting apertium (a pipe of eight programs loading their dictionaries)
        costs more than translating an email: one run per text made a batch no
        faster than one at a time. The texts go in as one stream, each followed
        by a paragraph holding only a marker word (unknown to every dictionary,
        so passed through as is); the output is cut at the markers. Measured on
        the samples in three directions, each text comes out exactly as alone,
        at a tenth of the time. Should a marker go missing or move, the batch is
        translated text by text instead.
        """
        if len(texts) < 2:
            return [self._run(mode, text) for text in texts]
        marker = _marker(texts)
        stream = "".join(
            f"{text}{SPLIT.format(marker=marker, index=i)}"
            for i, text in enumerate(texts)
        )
        parts = re.split(
            SPLIT.format(marker=re.escape(marker), index=r"(\d+)"),
            self._run(mode, stream, timeout=TIMEOUT_S * len(texts)) + "\n\n",
        )
        # [text0, "0", text1, "1", ..., ""]: texts and the indices between them.
        if len(parts) == 2 * len(texts) + 1 and parts[1::2] == [
            str(i) for i in range(len(texts))
        ]:
            return [part.rstrip("\n") for part in parts[0::2][:-1]]
        logger.warning("apertium %s moved a batch marker: one text at a time", mode)
        return [self._run(mode, text) for text in texts]

    def _run(self, mode: str, text: str, *, timeout: float = TIMEOUT_S) -> str:
        exe = binary()
        if exe is None:
            raise TranslationUnavailable("apertium is no longer installed")
        if apertium_resident.enabled():
            try:
                return apertium_resident.translate(mode, text, timeout=timeout).rstrip(
                    "\n"
                )
            except apertium_resident.ResidentError as exc:
                logger.warning("resident apertium %s: %s; running it once", mode, exc)
        # -u: no "*" on unknown words, which agents would read as emphasis.
        done = subprocess.run(  # noqa: S603 - fixed argv, text goes to stdin
            [exe, "-u", "-f", "txt", mode],
            input=text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"apertium {mode} failed ({done.returncode}): {done.stderr[:300]}"
            )
        return done.stdout.rstrip("\n")


def _marker(texts: list[str]) -> str:
    """A word in none of ``texts`` (letters only, so never split or translated)."""
    while True:
        marker = "Zqx" + "".join(
            secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(8)
        )
        if not any(marker in text for text in texts):
            return marker


def _version() -> str | None:
    exe = binary()
    if exe is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv
            [exe, "-V"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout or done.stderr).strip().splitlines()[0][:64] or None


def apertium_step(
    spec: str, source: str | None, target: str = "en"
) -> ApertiumTranslationStep:
    """The step an ``offline:apertium[@src-tgt]`` setting names for one pair (the
    pair in the setting, when there is one, wins)."""
    pair = expect(spec, "apertium")
    if pair:
        source, _, target = pair.partition("-")
    if not source:
        raise OfflineSpecError(
            f"{spec!r}: which language pair? e.g. offline:apertium@es-en"
        )
    return ApertiumTranslationStep(source, target or "en")
