"""The one retry policy of the tasks: how long to wait, and whether to try again.

Exponential backoff with full jitter, so the retries of a failed batch spread out
(written here rather than Celery's ``get_exponential_backoff_interval``, which
works in whole seconds: tests and small deployments use sub-second factors). No
retry where tasks run eagerly, in-process: there is no worker to come back later,
so the row records the failure at once.
"""

from __future__ import annotations

import logging
import random
from typing import Any, NoReturn

logger = logging.getLogger(__name__)


def backoff(retries: int, *, factor: float, maximum: float = 300.0) -> float:
    """Seconds before retry ``retries + 1``: uniform in [0, min(maximum,
    factor * 2**retries)]."""
    ceiling = min(float(maximum), factor * 2**retries)
    return round(random.uniform(0, ceiling), 2)  # noqa: S311 - jitter, not crypto


def attempts_left(task: Any, max_attempts: int) -> bool:
    """Whether the bound ``task`` (its current request) may run again."""
    eager = bool(task.request.is_eager or task.app.conf.task_always_eager)
    return task.request.retries + 1 < max_attempts and not eager


def retry_or_fail(task: Any, message_id: int, exc: Exception, what: str) -> NoReturn:
    """A triage task's answer to ``exc``: retried with backoff, or, its attempts
    spent, the message failed with the error and ``exc`` raised again (the
    message's other saved results stay)."""
    from django.conf import settings

    from triage import services

    if not attempts_left(task, settings.TRIAGE_MAX_ATTEMPTS):
        services.message_triage_fail(
            message_id=message_id, error=f"{type(exc).__name__}: {exc}"
        )
        raise exc
    countdown = backoff(
        task.request.retries, factor=settings.TRIAGE_RETRY_BACKOFF, maximum=300
    )
    logger.warning(
        "%s of message %s failed (%s: %s); retry in %ss",
        what,
        message_id,
        type(exc).__name__,
        exc,
        countdown,
    )
    raise task.retry(exc=exc, countdown=countdown) from exc
