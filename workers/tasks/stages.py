"""The generate stage of a split triage, and the re-run of steps that failed.

- ``triage.generate`` (queue ``gpu-generate``): the generation steps of one
  message whose encoder steps the encode task saved; finishes its triage.
- ``triage.rerun_steps`` (the queue of the steps' stage): a step that failed
  for a message (an LLM server that answered 500 or timed out) is run again
  alone, on the saved results of the others, with backoff, until it succeeds or
  TRIAGE_MAX_ATTEMPTS runs are spent; the steps that succeeded are not run again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from django.conf import settings

from triage import services
from triage.selectors.analyses import message_outcomes
from workers import contract
from workers.celery import app
from workers.config import pipeline_config
from workers.tasks import retry

logger = logging.getLogger(__name__)


def split_steps(stage: str) -> list[str] | None:
    """The steps of ``stage`` in the split topology; None (every step) in the
    single one."""
    if settings.TRIAGE_QUEUE_TOPOLOGY != "split":
        return None
    from workers.nlp.stages import stage_steps

    return list(stage_steps(stage))  # type: ignore[arg-type]


def run_on_saved(
    job: services.TriageJob, steps: Sequence[str]
) -> tuple[contract.Outcomes, list[str]]:
    """Run ``steps`` for one message on its saved results of the other steps;
    returns the new outcomes and the steps kept as saved."""
    from workers import nlp

    saved = message_outcomes(job.message_id)
    prior = {step: outcome for step, outcome in saved.items() if step not in steps}
    [results] = nlp.run_pipeline(
        [job.as_email()], pipeline_config(), steps=list(steps), prior=[prior]
    )
    return results, list(prior)


def generate_message(message_id: int) -> bool:
    """The generate stage of one message; False when it was not waiting for it."""
    job = services.message_generate_claim(message_id)
    if job is None:
        return False
    results, kept = run_on_saved(job, split_steps("generate") or [])
    services.analysis_save(message_id=message_id, results=results, keep=kept)
    # The encode stage's failures too: it could not schedule them before the
    # message was complete.
    rerun_failed_later(message_id, {**message_outcomes(message_id, kept), **results})
    return True


def rerun_failed_later(
    message_id: int, outcomes: contract.Outcomes, *, retries: int = 0
) -> None:
    """Publish the re-run of the failed steps of ``outcomes``, after a backoff,
    one task per queue. Not where tasks run eagerly: no worker would come back
    later, the failure stays recorded (like the task's own retries)."""
    failed = services.steps_to_rerun(outcomes)
    if not failed or app.conf.task_always_eager:
        return
    by_queue: dict[str, list[str]] = defaultdict(list)
    for step in failed:
        by_queue[_queue_of(step)].append(step)
    for queue, steps in by_queue.items():
        countdown = retry.backoff(
            retries, factor=settings.TRIAGE_RETRY_BACKOFF, maximum=300
        )
        logger.warning(
            "Steps %s failed for message %s; run again in %ss",
            steps,
            message_id,
            countdown,
        )
        try:
            rerun_steps.apply_async(
                args=[message_id, steps], queue=queue, countdown=countdown
            )
        except Exception:
            # The failure is recorded on the message; an operator can retry it.
            logger.exception("Could not publish the re-run of %s", steps)


def _queue_of(step: str) -> str:
    from workers.nlp.stages import stage_of

    return str(settings.TRIAGE_STAGE_QUEUES[stage_of(step)])


@app.task(name="triage.generate", bind=True, acks_late=True, reject_on_worker_lost=True)
def generate(self, message_id: int) -> None:
    """The generation steps of a message the encode task saved (split topology).

    Any exception is retried with backoff like the triage task's; the message
    is failed when the attempts are spent (its encoder results stay saved)."""
    try:
        generate_message(message_id)
    except Exception as exc:
        retry.retry_or_fail(self, message_id, exc, "Generation")


@app.task(
    name="triage.rerun_steps", bind=True, acks_late=True, reject_on_worker_lost=True
)
def rerun_steps(self, message_id: int, steps: list[str]) -> None:
    """Run the failed ``steps`` of a triaged message again (see the module)."""
    job = services.message_rerun_job(message_id)
    if job is None:
        logger.info(
            "Not re-running %s for message %s: re-triaged or gone", steps, message_id
        )
        return
    results, kept = run_on_saved(job, steps)
    services.analysis_save(message_id=message_id, results=results, keep=kept)
    failed = services.steps_to_rerun(results)
    # The first run counts as an attempt: TRIAGE_MAX_ATTEMPTS runs in all.
    if failed and retry.attempts_left(self, settings.TRIAGE_MAX_ATTEMPTS - 1):
        countdown = retry.backoff(
            self.request.retries + 1, factor=settings.TRIAGE_RETRY_BACKOFF, maximum=300
        )
        logger.warning(
            "Steps %s failed again for message %s; run again in %ss",
            failed,
            message_id,
            countdown,
        )
        raise self.retry(
            args=[message_id, failed],
            countdown=countdown,
            queue=self.request.delivery_info.get("routing_key") or _queue_of(failed[0]),
        )
    if failed:
        logger.error("Steps %s of message %s still fail; giving up", failed, message_id)
