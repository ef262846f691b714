"""A triage in two stages (TRIAGE_QUEUE_TOPOLOGY=split), and the re-run of the
steps that failed: the bookkeeping between the tasks.

The encode task saves the encoder steps' rows and hands the message on to the
generate task; the message stays `triaging` until the generate task saved the
rest (``analysis_save`` with the encode steps kept), so it is never shown as
done half-analysed. A lost generate task is found by the sweeper like any
`triaging` message past the hard time limit, and the triage starts again.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from triage import queue
from triage.models import Message
from triage.services.analysis_rows import analysis_rows_save
from triage.services.triage import TriageJob, message_jobs
from workers import contract

logger = logging.getLogger(__name__)


def analysis_save_encoded(*, message_id: int, results: contract.Outcomes) -> bool:
    """Save the encode stage's rows and publish the generate stage (after
    commit). False when the message is no longer this triage's (failed by an
    operator, triaged by a takeover): nothing is saved then."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .only("pk", "triage_status")
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.triage_status != Message.TriageStatus.TRIAGING:
            return False
        analysis_rows_save(message, results)
        # The generate stage's claim starts now: a long encode must not make
        # the hand-over look abandoned.
        Message.objects.filter(pk=message_id).update(triage_started_at=timezone.now())
        queue.publish_on_commit(queue.TRIAGE_GENERATE, [message_id])
    return True


def message_generate_claim(message_id: int) -> TriageJob | None:
    """The job of a message waiting for its generate stage (`triaging`), or None
    (done, failed or gone). One UPDATE: a task holding the row is waited for,
    and the status is checked again once it lets go."""
    claimed = Message.objects.filter(
        pk=message_id, triage_status=Message.TriageStatus.TRIAGING
    ).update(triage_started_at=timezone.now())
    if not claimed:
        logger.info("Not generating for message %s: done, gone or busy", message_id)
        return None
    return next(iter(message_jobs([message_id])), None)


def message_rerun_job(message_id: int) -> TriageJob | None:
    """The job of a triaged (or failed) message whose failed steps are re-run;
    None when the message is gone or being triaged afresh meanwhile."""
    done = (Message.TriageStatus.TRIAGED, Message.TriageStatus.FAILED)
    if not Message.objects.filter(pk=message_id, triage_status__in=done).exists():
        return None
    return next(iter(message_jobs([message_id])), None)


def steps_to_rerun(outcomes: contract.Outcomes) -> list[str]:
    """The failed steps worth running again on their own: not the preparation
    steps (the saved results of the others were computed on their output)."""
    return [
        step
        for step, outcome in outcomes.items()
        if outcome.get("error") and step not in contract.PREPARATION_STEPS
    ]
