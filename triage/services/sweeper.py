"""Re-enqueue work a lost task left behind, so no message waits forever."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from triage.models import Message, ReplyDraft
from triage.services.replies import reply_enqueue_send
from triage.services.triage import message_enqueue_triage

logger = logging.getLogger(__name__)


def triage_sweep(*, limit: int = 500) -> list[int]:
    """Enqueue messages stuck in `received` (never published, or the task was lost)
    or in `triaging` past the hard time limit (the worker died). Returns their ids.

    Rows are picked with SELECT ... FOR UPDATE SKIP LOCKED and stamped
    `triage_enqueued_at` in the same transaction, so a second sweeper running at
    the same moment neither blocks nor picks the same messages.
    """
    now = timezone.now()
    wait = timedelta(seconds=settings.TRIAGE_SWEEP_AFTER)
    dead = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    stuck = Q(
        triage_status=Message.TriageStatus.RECEIVED, received_at__lt=now - wait
    ) | Q(triage_status=Message.TriageStatus.TRIAGING, triage_started_at__lt=dead)
    not_just_enqueued = Q(triage_enqueued_at__isnull=True) | Q(
        triage_enqueued_at__lt=now - wait
    )
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(stuck, not_just_enqueued, direction=Message.Direction.INBOUND)
            .order_by("received_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        Message.objects.filter(pk__in=ids).update(triage_enqueued_at=now)
        transaction.on_commit(lambda: _enqueue_all(ids))
    logger.info("Sweeper re-enqueued %s message(s)", len(ids))
    return ids


def _enqueue_all(ids: list[int]) -> None:
    for pk in ids:
        message_enqueue_triage(pk)


def reply_sweep(*, limit: int = 200) -> list[int]:
    """Enqueue the send of drafts approved a while ago but never claimed by a send
    task (the broker was down at approval, or the task was lost).

    Safe to repeat: the send claims the draft under a row lock, so at most one
    task ever talks to SMTP for it.
    """
    wait = timedelta(seconds=settings.TRIAGE_SWEEP_AFTER)
    ids = list(
        ReplyDraft.objects.filter(
            status=ReplyDraft.Status.APPROVED,
            approved_at__lt=timezone.now() - wait,
            send_attempts=0,
        )
        .order_by("approved_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        reply_enqueue_send(pk)
    if ids:
        logger.info("Sweeper re-enqueued the send of %s approved draft(s)", len(ids))
    return ids
