"""Triage tasks (queue `gpu`): thin. Load by id, call one function, own retries."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import OperationalError

from triage import services
from workers.celery import app

logger = logging.getLogger(__name__)


def triage_messages(message_ids: Sequence[int]) -> int:
    """Run every configured step over a batch of messages; save per message.

    Returns how many messages were triaged. Models load lazily in this process
    (never in a prefork parent) and stay loaded for the next batch.
    """
    from workers import nlp  # torch/transformers load on first use, not here

    jobs = services.message_triage_claim(message_ids)
    if not jobs:
        return 0
    outcomes = nlp.run_steps([job.text for job in jobs], models=settings.TRIAGE_MODELS)
    for job, results in zip(jobs, outcomes, strict=True):
        services.analysis_save(message_id=job.message_id, results=results)
    return len(jobs)


# Worth another try: the database or broker blipped, or inference overran its soft
# limit. Anything else is a bug or a poison message: fail it now, visibly.
RETRYABLE = (SoftTimeLimitExceeded, ConnectionError, OSError, OperationalError)


@app.task(
    name="triage.triage_message", bind=True, acks_late=True, reject_on_worker_lost=True
)
def triage_message(self, message_id: int) -> None:
    try:
        triage_messages([message_id])
    except Exception as exc:
        retries = self.request.retries
        if isinstance(exc, RETRYABLE) and retries + 1 < settings.TRIAGE_MAX_ATTEMPTS:
            countdown = get_exponential_backoff_interval(
                factor=5, retries=retries, maximum=300, full_jitter=True
            )
            logger.warning(
                "Triage of message %s failed (%s); retry %s in %ss",
                message_id,
                exc,
                retries + 1,
                countdown,
            )
            raise self.retry(exc=exc, countdown=countdown) from exc
        services.message_triage_fail(
            message_id=message_id, error=f"{type(exc).__name__}: {exc}"
        )
        raise
