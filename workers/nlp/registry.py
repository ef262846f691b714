"""Step name -> class, and one loaded instance per (step, model) per process."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from workers.nlp.answer import AnswerStep
from workers.nlp.entities import EntitiesStep
from workers.nlp.sentiment import SentimentStep

logger = logging.getLogger(__name__)


class Step(Protocol):
    """A loaded model for one triage step, called on a batch of texts."""

    name: str
    model_id: str
    revision: str | None
    tiny: bool

    def __call__(self, texts: list[str]) -> list[Any]: ...


STEP_CLASSES: dict[str, type[Step]] = {
    "sentiment": SentimentStep,
    "entities": EntitiesStep,
    "answer": AnswerStep,
}
STEPS: tuple[str, ...] = tuple(STEP_CLASSES)

_loaded: dict[tuple[str, str], Step] = {}
# Held while loading so two threads asking for one model load it once.
_lock = threading.Lock()


def get_step(step: str, model: str) -> Step:
    """The step ``step`` served by ``model`` (a Hub id or a local path).

    Loads on first use in this process, never at import: a Celery prefork parent
    must not hold models (or CUDA state) across fork.
    """
    key = (step, model)
    found = _loaded.get(key)
    if found is not None:
        return found
    try:
        cls = STEP_CLASSES[step]
    except KeyError:
        raise ValueError(f"unknown step {step!r}; known: {', '.join(STEPS)}") from None
    with _lock:
        found = _loaded.get(key)
        if found is None:
            started = time.perf_counter()
            found = cls(model)
            _loaded[key] = found
            logger.info(
                "loaded %s model %s (revision %s) in %.2fs",
                step,
                model,
                found.revision,
                time.perf_counter() - started,
            )
        return found


def clear_cache() -> None:
    """Forget loaded models (tests; freeing memory after a model switch)."""
    with _lock:
        _loaded.clear()
