"""Triage tasks (queue `gpu`, or `gpu-encode` when split): thin. Load by id,
call one function, own retries. The generate stage and the re-run of failed
steps are in workers/tasks/stages.py."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings

from triage import services
from workers import faults
from workers.celery import app
from workers.config import pipeline_config
from workers.tasks import retry
from workers.tasks.stages import rerun_failed_later, split_steps

logger = logging.getLogger(__name__)


def triage_messages(
    message_ids: Sequence[int], *, extra: int = 0, whole: bool = False
) -> int:
    """Run every configured step over a batch of messages; save per message.

    `extra` > 0 also claims that many other waiting messages, so a busy queue is
    triaged in batches. `whole`: every step here even in the split topology
    (`manage.py triage` runs the models in its own process). Returns how many
    messages were triaged (or handed to the generate stage). Models load in this
    process (never in a prefork parent; at its start with TRIAGE_WORKER_PRELOAD,
    workers/warmup.py, else here) and stay loaded for the next batch.
    """
    from workers import nlp  # torch/transformers load on first use, not here

    jobs = services.message_triage_claim(message_ids, extra=extra)
    if not jobs:
        return 0
    own = set(message_ids)
    # Split topology: the encoder steps here, the generation steps in the
    # generate task this one hands each message to.
    steps = None if whole else split_steps("encode")
    try:
        faults.inject([job.text for job in jobs])
        outcomes = nlp.run_pipeline(
            [job.as_email() for job in jobs], pipeline_config(), steps=steps
        )
    except BaseException as exc:
        claimed = [job.message_id for job in jobs]
        services.message_triage_release(
            retry=[pk for pk in claimed if pk in own],
            extras=[pk for pk in claimed if pk not in own],
            error=f"{type(exc).__name__}: {exc}",
        )
        raise
    for job, results in zip(jobs, outcomes, strict=True):
        if steps is not None:
            services.analysis_save_encoded(message_id=job.message_id, results=results)
        else:
            services.analysis_save(message_id=job.message_id, results=results)
            rerun_failed_later(job.message_id, results)
    return len(jobs)


@app.task(
    name="triage.triage_message", bind=True, acks_late=True, reject_on_worker_lost=True
)
def triage_message(self, message_id: int) -> None:
    """Triage one message, plus other waiting ones as a batch when the queue is busy.

    Any exception is retried with exponential backoff and jitter: a model can fail
    transiently (CUDA OOM, a blip of the database), and the attempt counter on the
    row caps how often a poison message is tried before it is marked failed.
    """
    try:
        triage_messages([message_id], extra=settings.TRIAGE_BATCH_SIZE - 1)
    except Exception as exc:
        retry.retry_or_fail(self, message_id, exc, "Triage")


@app.task(name="triage.triage_batch", acks_late=True, reject_on_worker_lost=True)
def triage_batch(message_ids: list[int]) -> int:
    """Triage these messages together (e.g. a backlog enqueued by an operator)."""
    return triage_messages(message_ids)
