"""Triage bookkeeping: claim a message, save step results, record failures."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from triage.models import Analysis, AuditEvent, Message, Ticket

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriageJob:
    message_id: int
    text: str


def message_enqueue_triage(message_id: int) -> bool:
    """Publish the triage task. False when the broker is unreachable.

    The message stays `received` then, and `manage.py triage` (later: a periodic
    sweeper) picks it up, so a broker outage loses nothing.
    """
    from workers.tasks import triage_message  # Celery only; never imports torch

    try:
        triage_message.delay(message_id)
    except Exception:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        logger.exception("Could not enqueue triage of message %s", message_id)
        return False
    return True


def message_triage_begin(message_id: int) -> TriageJob | None:
    """Claim a message for triage. None when it is already done or gone."""
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            logger.warning("Message %s vanished before triage", message_id)
            return None
        if message.triage_status == Message.TriageStatus.TRIAGED:
            logger.info("Message %s already triaged; skipping", message_id)
            return None
        message.triage_status = Message.TriageStatus.TRIAGING
        message.triage_attempts += 1
        message.save(update_fields=["triage_status", "triage_attempts"])
    return TriageJob(
        message_id=message.pk,
        text=message.text_body[: settings.TRIAGE_MODEL_TEXT_MAX_CHARS],
    )


def analysis_save(*, message_id: int, results: dict[str, dict[str, Any]]) -> Message:
    """Store one message's step results (plain dicts from workers.nlp.run_steps).

    Idempotent: a rerun replaces the rows of the steps it ran.
    """
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("ticket")
            .get(pk=message_id)
        )
        for step, outcome in results.items():
            Analysis.objects.update_or_create(
                message=message,
                step=step,
                defaults={
                    "result": outcome.get("result"),
                    "error": outcome.get("error") or "",
                    "model": outcome.get("model") or "",
                    "model_revision": outcome.get("revision") or "",
                    "is_tiny": bool(outcome.get("tiny")),
                    "duration_ms": float(outcome.get("duration_ms") or 0.0),
                    "created_at": timezone.now(),
                },
            )
        errors = {s: o["error"] for s, o in results.items() if o.get("error")}
        if results and len(errors) == len(results):
            message.triage_status = Message.TriageStatus.FAILED
            message.triage_error = "; ".join(f"{s}: {e}" for s, e in errors.items())
        else:
            message.triage_status = Message.TriageStatus.TRIAGED
            message.triage_error = "; ".join(f"{s}: {e}" for s, e in errors.items())
            message.triaged_at = timezone.now()
        message.save(update_fields=["triage_status", "triage_error", "triaged_at"])
        _ticket_apply(message.ticket, results)
        AuditEvent.objects.create(
            ticket=message.ticket,
            action="message_triaged",
            detail={
                "message": message.pk,
                "status": message.triage_status,
                "failed_steps": sorted(errors),
            },
        )
    return message


def _ticket_apply(ticket: Ticket, results: dict[str, dict[str, Any]]) -> None:
    sentiment = (results.get("sentiment") or {}).get("result")
    fields = []
    if sentiment:
        ticket.sentiment_label = str(sentiment["label"])[:32]
        ticket.sentiment_score = float(sentiment["score"])
        fields += ["sentiment_label", "sentiment_score"]
    if ticket.status == Ticket.Status.NEW:
        ticket.status = Ticket.Status.NEEDS_REVIEW
        fields.append("status")
    if fields:
        ticket.save(update_fields=[*fields, "updated_at"])


def message_triage_fail(*, message_id: int, error: str) -> None:
    """Record a triage that could not complete (the task gave up retrying)."""
    Message.objects.filter(pk=message_id).exclude(
        triage_status=Message.TriageStatus.TRIAGED
    ).update(triage_status=Message.TriageStatus.FAILED, triage_error=error[:10000])
