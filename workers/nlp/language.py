"""Language identification with lingua (a packaged detector, no model download).

Why lingua (``lingua-language-detector``): it is deterministic (langdetect is
random unless seeded per call), accurate on short text (a one-line email), written
in Rust with a batch API that uses every core, and it ships its n-gram models in
the wheel, so it works offline. Its cost is memory: the high-accuracy models of all
75 languages take about 1 GB, so the detector only considers the configured
candidate languages (about 30 MB each), loaded when the step is first used.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from workers.contract import Language
from workers.nlp.cache import load_once

DETECTOR = "lingua"
# Languages customers of a European shop are likely to write in; configurable.
DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "it", "nl", "pt", "pl")
# Detection reads the opening of a mail: enough to decide, and a long quoted
# thread in another language below it does not outvote the new message.
MAX_CHARS = 2000


class LanguageStep:
    """``__call__(texts)`` -> ISO 639-1 code (lowercase) and confidence per text.

    ``language`` is None (confidence 0.0) when the text has nothing to detect from
    (blank, digits only) or the detector cannot decide.
    """

    name = "language"

    def __init__(
        self, detector: str = DETECTOR, *, languages: Sequence[str] = DEFAULT_LANGUAGES
    ) -> None:
        if detector != DETECTOR:
            raise ValueError(f"unknown language detector {detector!r}; known: lingua")
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        codes = sorted({code.strip().lower() for code in languages if code.strip()})
        if len(codes) < 2:
            raise ValueError(
                "language detection needs at least two candidate languages"
            )
        isos = []
        for code in codes:
            try:
                isos.append(getattr(IsoCode639_1, code.upper()))
            except AttributeError:
                raise ValueError(
                    f"lingua does not know the language {code!r}"
                ) from None
        # Eager: lingua would otherwise load each language's n-grams on the first
        # text that needs them, seconds into some unlucky batch.
        self._detector = (
            LanguageDetectorBuilder.from_iso_codes_639_1(*isos)
            .with_preloaded_language_models()
            .build()
        )
        self.languages = tuple(codes)
        self.model_id = detector
        try:
            self.revision: str | None = version("lingua-language-detector")
        except PackageNotFoundError:  # pragma: no cover - an odd install
            self.revision = None
        self.tiny = False

    def __call__(self, texts: Sequence[str]) -> list[Language]:
        heads = [text[:MAX_CHARS] for text in texts]
        todo = [i for i, text in enumerate(heads) if any(c.isalpha() for c in text)]
        results: list[Language] = [
            {"language": None, "confidence": 0.0, "detector": DETECTOR} for _ in texts
        ]
        if not todo:
            return results
        ranked = self._detector.compute_language_confidence_values_in_parallel(
            [heads[i] for i in todo]
        )
        for i, values in zip(todo, ranked, strict=True):
            if values and values[0].value > 0.0:
                results[i] = {
                    "language": values[0].language.iso_code_639_1.name.lower(),
                    "confidence": float(values[0].value),
                    "detector": DETECTOR,
                }
        return results


def get_detector(
    detector: str = DETECTOR, languages: Sequence[str] = DEFAULT_LANGUAGES
) -> LanguageStep:
    """The detector for these candidates, built once per process (seconds, MBs)."""
    codes = tuple(sorted({code.strip().lower() for code in languages if code.strip()}))
    return load_once(
        ("language", detector, codes), lambda: LanguageStep(detector, languages=codes)
    )
