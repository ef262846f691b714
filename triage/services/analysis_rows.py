"""The Analysis rows of one message: one per step, replaced when a step reruns."""

from __future__ import annotations

from django.utils import timezone

from triage.models import Analysis, Message
from workers import contract


def analysis_rows_save(message: Message, results: contract.Outcomes) -> None:
    """Write (or replace) the row of each step in ``results``; other rows stay."""
    for step, outcome in results.items():
        Analysis.objects.update_or_create(
            message=message,
            step=step,
            defaults={
                "result": outcome.get("result"),
                "computed_on": outcome.get("on") or "",
                "error": outcome.get("error") or "",
                "not_analysed": (outcome.get("not_analysed") or "")[:255],
                "model": outcome.get("model") or "",
                "model_revision": outcome.get("revision") or "",
                "is_tiny": bool(outcome.get("tiny")),
                "duration_ms": float(outcome.get("duration_ms") or 0.0),
                "created_at": timezone.now(),
            },
        )
