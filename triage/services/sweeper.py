"""Re-enqueue work a lost task left behind, so no message waits forever."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from triage.models import Message
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
