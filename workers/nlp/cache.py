"""One loaded object per key per process: every model, head and detector.

A leaf module (it imports nothing of the project), so any step or backend can
use it without an import circle. The lock is re-entrant: a head's factory asks
for the encoder it sits on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
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


def clear_cache() -> None:
    """Forget loaded models (tests; freeing memory after a model switch)."""
    with _lock:
        _loaded.clear()
