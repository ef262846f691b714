"""Step name -> class, and one loaded instance per (step, model) per process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar

from workers.nlp.answer import AnswerStep
from workers.nlp.entities import EntitiesStep
from workers.nlp.offline import build_step, is_offline
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

_loaded: dict[tuple[Hashable, ...], Any] = {}
# Held while loading so two threads asking for one model load it once.
_lock = threading.RLock()
T = TypeVar("T")


def load_once(key: tuple[Hashable, ...], factory: Callable[[], T]) -> T:
    """``factory()`` the first time ``key`` is asked for in this process, then cached.

    Every model of every step goes through here: loaded lazily in the process that
    runs it (never in a prefork parent), once, whichever thread asks first.
    """
    found = _loaded.get(key)
    if found is not None:
        return found
    with _lock:
        found = _loaded.get(key)
        if found is None:
            started = time.perf_counter()
            found = factory()
            _loaded[key] = found
            logger.info(
                "loaded %s (revision %s) in %.2fs",
                "/".join(map(str, key)),
                getattr(found, "revision", None),
                time.perf_counter() - started,
            )
        return found


def get_step(step: str, model: str) -> Step:
    """The step ``step`` served by ``model`` (a Hub id or a local path).

    Loads on first use in this process, never at import: a Celery prefork parent
    must not hold models (or CUDA state) across fork. An ``offline:`` spec
    (``offline:spacy``, ``offline:minilm-heads@/srv/heads``) is built by
    ``workers.nlp.offline``, which serves more steps than ``STEP_CLASSES``.
    """
    if is_offline(model):
        return load_once(("offline", step, model), lambda: build_step(step, model))
    try:
        cls = STEP_CLASSES[step]
    except KeyError:
        raise ValueError(f"unknown step {step!r}; known: {', '.join(STEPS)}") from None
    return load_once((step, model), lambda: cls(model))


def clear_cache() -> None:
    """Forget loaded models (tests; freeing memory after a model switch)."""
    with _lock:
        _loaded.clear()
