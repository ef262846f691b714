"""`/healthz` for load balancers and compose healthchecks (no auth, no session)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Min
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from triage.models import UNTRIAGED, Message

logger = logging.getLogger(__name__)

QUEUES = ("gpu", "gpu-encode", "gpu-generate", "mail", "default")


def database_check() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        # The predicate of message_untriaged_idx: one index entry, not a scan.
        oldest = Message.objects.filter(
            direction=Message.Direction.INBOUND, triage_status__in=UNTRIAGED
        ).aggregate(oldest=Min("received_at"))["oldest"]
    except Exception as exc:
        logger.warning("healthz: database check failed: %s", exc)
        return {"ok": False, "error": type(exc).__name__}
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return {"ok": True, "oldest_untriaged_age_s": round(age, 1)}


def broker_check() -> dict[str, Any]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "eager (no broker configured)", "queues": {}}
    from workers.celery import app

    try:
        with app.connection_for_read(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            channel = conn.default_channel
            depth = {q: channel.queue_declare(queue=q).message_count for q in QUEUES}
    except Exception as exc:
        logger.warning("healthz: broker check failed: %s", exc)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "queues": depth}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database, broker = database_check(), broker_check()
    ok = database["ok"] and broker["ok"]
    return JsonResponse(
        {"ok": ok, "database": database, "broker": broker}, status=200 if ok else 503
    )
