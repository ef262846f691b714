"""A message's stored step results, in the shape the pipeline produced them."""

from __future__ import annotations

from collections.abc import Iterable

from triage.models import Analysis
from workers.contract import StepOutcome


def message_outcomes(
    message_id: int, steps: Iterable[str] | None = None
) -> dict[str, StepOutcome]:
    """step -> the saved outcome of that step for this message (all steps, or
    ``steps`` only); what a later stage or a retry of one step builds on."""
    rows = Analysis.objects.filter(message_id=message_id)
    if steps is not None:
        rows = rows.filter(step__in=list(steps))
    return {row.step: analysis_outcome(row) for row in rows.order_by("pk")}


def analysis_outcome(row: Analysis) -> StepOutcome:
    return {
        "result": row.result,
        "error": row.error or None,
        "model": row.model,
        "revision": row.model_revision or None,
        "tiny": row.is_tiny,
        "duration_ms": row.duration_ms,
        "on": row.computed_on or None,  # type: ignore[typeddict-item]
        "not_analysed": row.not_analysed or None,
    }
