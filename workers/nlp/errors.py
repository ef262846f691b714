"""Which exceptions a step may record as its own failure, and which it must not."""

from __future__ import annotations

# Raised into the running code by the worker when a task overruns its soft time
# limit (billiard/Celery). The whole batch has to stop and be retried, so a step
# must not record it as its own error and let the next step run on borrowed time.
# Matched by name: workers.nlp does not import Celery.
_INTERRUPTS = frozenset({"SoftTimeLimitExceeded", "TimeLimitExceeded"})


def is_interrupt(exc: BaseException) -> bool:
    return any(cls.__name__ in _INTERRUPTS for cls in type(exc).__mro__)
