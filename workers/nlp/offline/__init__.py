"""An offline model profile: real models that registry packages ship (DESIGN §8).

| step              | spec                  | what serves it                       |
|-------------------|-----------------------|--------------------------------------|
| sentiment, intent | offline:minilm-heads  | MiniLM + heads trained on our labels |
| answer, summary   | offline:minilm-select | MiniLM sentence selection            |
| entities          | offline:spacy         | spaCy en_core_web_sm                 |
| draft             | offline:smollm2       | SmolLM2-135M-Instruct, else template |
| draft             | offline:smollm2-ct2   | the same SmolLM2 through CTranslate2 |
| draft             | offline:openai        | an OpenAI-compatible server (env)    |
| draft             | offline:template      | the template alone                   |
| translation       | offline:apertium      | apertium where it has the pair       |

``OFFLINE_STEPS[step](spec)`` builds the step. Importing this package loads neither
torch, transformers nor spaCy: the factories import their module when called.
A spec may carry an argument after ``@``: the heads directory for
``offline:minilm-heads@/srv/heads``, the language pair for ``offline:apertium@es-en``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PREFIX = "offline:"


class OfflineSpecError(ValueError):
    pass


def is_offline(spec: str) -> bool:
    return spec.strip().startswith(PREFIX)


def parse_spec(spec: str) -> tuple[str, str]:
    """``"offline:minilm-heads@/x"`` -> ``("minilm-heads", "/x")``."""
    spec = spec.strip()
    if not spec.startswith(PREFIX):
        raise OfflineSpecError(f"not an offline model spec: {spec!r}")
    method, _, argument = spec[len(PREFIX) :].partition("@")
    return method, argument


def _expect(spec: str, *methods: str) -> str:
    method, argument = parse_spec(spec)
    if method not in methods:
        raise OfflineSpecError(
            f"{spec!r}: expected offline:{' or offline:'.join(methods)}"
        )
    return argument


def _sentiment(spec: str) -> Any:
    from workers.nlp.offline.heads import SentimentHeadStep

    return SentimentHeadStep(_expect(spec, "minilm-heads") or None)


def _intent(spec: str, labels: Any = None) -> Any:
    from workers.nlp.offline.heads import IntentHeadStep

    return IntentHeadStep(_expect(spec, "minilm-heads") or None, labels=labels)


def _answer(spec: str) -> Any:
    from workers.nlp.offline.select import AnswerSelectStep

    _expect(spec, "minilm-select")
    return AnswerSelectStep()


def _summary(spec: str) -> Any:
    from workers.nlp.offline.select import SummarySelectStep

    _expect(spec, "minilm-select")
    return SummarySelectStep()


def _entities(spec: str) -> Any:
    from workers.nlp.offline.spacy_ner import SpacyEntitiesStep

    _expect(spec, "spacy")
    return SpacyEntitiesStep()


def _draft(spec: str) -> Any:
    from workers.nlp.offline.draft import DraftStep

    method, _ = parse_spec(spec)
    _expect(spec, "smollm2", "smollm2-ct2", "openai", "template")
    return DraftStep(method)


def _translation(spec: str, source: str | None = None, target: str = "en") -> Any:
    from workers.nlp.offline.apertium import ApertiumTranslationStep

    pair = _expect(spec, "apertium")
    if pair:
        source, _, target = pair.partition("-")
    if not source:
        raise OfflineSpecError(
            f"{spec!r}: which language pair? e.g. offline:apertium@es-en"
        )
    return ApertiumTranslationStep(source, target or "en")


OFFLINE_STEPS: dict[str, Callable[..., Any]] = {
    "sentiment": _sentiment,
    "intent": _intent,
    "answer": _answer,
    "summary": _summary,
    "entities": _entities,
    "draft": _draft,
    "translation": _translation,
}

# What an "offline" profile maps each step to (language detection is lingua's,
# as in every profile).
OFFLINE_PROFILE: dict[str, str] = {
    # {src}/{tgt} are filled per language pair, like the Hub profile's opus-mt id.
    "translation": "offline:apertium@{src}-{tgt}",
    "sentiment": "offline:minilm-heads",
    "entities": "offline:spacy",
    "answer": "offline:minilm-select",
    "summary": "offline:minilm-select",
    "intent": "offline:minilm-heads",
    "draft": "offline:smollm2",
}


def build_step(step: str, spec: str, **options: Any) -> Any:
    """``OFFLINE_STEPS[step](spec, **options)`` with a clear error for unknowns."""
    try:
        factory = OFFLINE_STEPS[step]
    except KeyError:
        known = ", ".join(OFFLINE_STEPS)
        raise OfflineSpecError(
            f"no offline model for step {step!r}; offline steps: {known}"
        ) from None
    return factory(spec, **options)


def draft_replies(*args: Any, **kwargs: Any) -> Any:
    """See ``workers.nlp.offline.draft.draft_replies`` (imported on call)."""
    from workers.nlp.offline.draft import draft_replies as impl

    return impl(*args, **kwargs)


__all__ = [
    "OFFLINE_PROFILE",
    "OFFLINE_STEPS",
    "OfflineSpecError",
    "build_step",
    "draft_replies",
    "is_offline",
    "parse_spec",
]
