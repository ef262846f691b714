"""One loaded object per key per process: every model, head and detector.

A leaf module (it imports nothing of the project), so any step or backend can
use it without an import circle. The lock is re-entrant: a head's factory asks
for the encoder it sits on.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

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


def loaded() -> dict[tuple[Hashable, ...], Any]:
    """What this process has loaded, by key (a copy: benchmarks and status)."""
    with _lock:
        return dict(_loaded)


def clear_cache() -> None:
    """Forget loaded models (tests; freeing memory after a model switch)."""
    with _lock:
        _loaded.clear()


# What one pipeline run computes once for several of its steps (the offline MiniLM
# sentence embeddings: sentiment, intent, answer and summary read the same
# sentences). Scoped to the run: nothing of a customer's text outlives the batch
# it came in, and a run's figures do not depend on what an earlier one saw.
_run_memo: contextvars.ContextVar[dict[Hashable, Any] | None] = contextvars.ContextVar(
    "triage_run_memo", default=None
)


@contextlib.contextmanager
def run_scope() -> Iterator[None]:
    """A fresh run memo for the duration (nested scopes share the outer one)."""
    if _run_memo.get() is not None:
        yield
        return
    token = _run_memo.set({})
    try:
        yield
    finally:
        _run_memo.reset(token)


def run_memo(namespace: Hashable) -> dict[Hashable, Any] | None:
    """The current run's memo for ``namespace``, or None outside a run."""
    memo = _run_memo.get()
    if memo is None:
        return None
    return memo.setdefault(namespace, {})
