"""The one retry policy of the tasks: how long to wait, and whether to try again.

Exponential backoff with full jitter, so the retries of a failed batch spread out
(written here rather than Celery's ``get_exponential_backoff_interval``, which
works in whole seconds: tests and small deployments use sub-second factors). No
retry where tasks run eagerly, in-process: there is no worker to come back later,
so the row records the failure at once.
"""

from __future__ import annotations

import random
from typing import Any


def backoff(retries: int, *, factor: float, maximum: float = 300.0) -> float:
    """Seconds before retry ``retries + 1``: uniform in [0, min(maximum,
    factor * 2**retries)]."""
    ceiling = min(float(maximum), factor * 2**retries)
    return round(random.uniform(0, ceiling), 2)  # noqa: S311 - jitter, not crypto


def attempts_left(task: Any, max_attempts: int) -> bool:
    """Whether the bound ``task`` (its current request) may run again."""
    eager = bool(task.request.is_eager or task.app.conf.task_always_eager)
    return task.request.retries + 1 < max_attempts and not eager
