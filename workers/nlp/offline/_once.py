"""One loaded object per key per process (models, heads, the spaCy pipeline).

Kept here rather than in workers.nlp.registry so this package works on its own; the
registry's own cache then holds the step objects that wrap these.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

_loaded: dict[tuple[Hashable, ...], Any] = {}
# Re-entrant: a factory may itself ask for another cached object (a head step asks
# for the encoder).
_lock = threading.RLock()


def once(key: tuple[Hashable, ...], factory: Callable[[], T]) -> T:
    """``factory()`` the first time ``key`` is asked for in this process, then cached.

    Never called at import: a Celery prefork parent must not hold models.
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
                "loaded %s in %.2fs",
                "/".join(map(str, key)),
                time.perf_counter() - started,
            )
        return found


def forget(*prefix: Hashable) -> None:
    """Drop cached objects whose key starts with ``prefix`` (all when empty)."""
    with _lock:
        for key in [k for k in _loaded if k[: len(prefix)] == prefix]:
            del _loaded[key]
