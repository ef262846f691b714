"""How fast the workers analyse mail on this deployment's hardware, per step.

Read from the milliseconds every ``Analysis`` row records (a batch's time shared by
the mails in it: ms per email), over a window of days: what a team lead checks
after a deploy, a model change or a new GPU ("is the draft still 80% of the
time?"), and what ``bench/pipeline.py`` measures before one. Rows of a step that
did not read the mail (``not_analysed``: no model for its language) took no time
and are counted apart, so they do not pull the median to zero.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from triage.models import Analysis
from workers import contract

_SPEED_SQL = """
SELECT step,
    count(*) FILTER (WHERE not_analysed = ''),
    count(*) FILTER (WHERE error <> ''),
    count(*) FILTER (WHERE not_analysed <> ''),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)
        FILTER (WHERE not_analysed = ''),
    percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)
        FILTER (WHERE not_analysed = ''),
    coalesce(sum(duration_ms) FILTER (WHERE not_analysed = ''), 0)
FROM {table}
WHERE created_at >= %s
GROUP BY step
"""


def overview_pipeline_speed(*, days: int = 7) -> dict[str, Any]:
    """Per step: mails analysed, errors, not analysed, median and 95th percentile
    ms per email, and the step's share of the workers' time; built-in steps in
    pipeline order, then any step added as a file."""
    since = timezone.now() - timedelta(days=days)
    if connection.vendor == "postgresql":
        found = _speed_sql(since)
    else:
        found = _speed_python(since)
    total_ms = sum(row["total_ms"] for row in found.values())
    order = {name: i for i, name in enumerate(contract.STEP_NAMES)}
    rows = []
    for step in sorted(found, key=lambda s: (order.get(s, len(order)), s)):
        row = found[step]
        rows.append(
            {
                **row,
                "step": step,
                "label": contract.STEP_LABELS.get(step, step),
                "share": row["total_ms"] / total_ms if total_ms else 0.0,
            }
        )
    return {"days": days, "rows": rows, "total_ms": total_ms}


def _speed_sql(since: datetime) -> dict[str, dict[str, Any]]:
    """One pass of PostgreSQL over the window: no rows to Python."""
    table = connection.ops.quote_name(Analysis._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_SPEED_SQL.format(table=table), [since])
        found = cursor.fetchall()
    return {
        step: _row(analysed, errors, skipped, median, p95, total)
        for step, analysed, errors, skipped, median, p95, total in found
    }


def _speed_python(since: datetime) -> dict[str, dict[str, Any]]:
    """SQLite (quick local runs) has no percentile function: the rows are read.
    ``method="inclusive"`` is PostgreSQL's percentile_cont (linear between the
    two nearest rows), so both give the same figures."""
    durations: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    skipped: dict[str, int] = defaultdict(int)
    rows = Analysis.objects.filter(created_at__gte=since).values_list(
        "step", "duration_ms", "error", "not_analysed"
    )
    for step, duration_ms, error, not_analysed in rows.iterator():
        errors[step] += bool(error)
        if not_analysed:
            skipped[step] += 1
        else:
            durations[step].append(duration_ms)
    found = {}
    for step in durations.keys() | skipped.keys():
        values = durations.get(step, [])
        found[step] = _row(
            len(values),
            errors[step],
            skipped[step],
            statistics.median(values) if values else None,
            _p95(values),
            sum(values),
        )
    return found


def _p95(values: list[float]) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def _row(
    analysed: int,
    errors: int,
    skipped: int,
    median: float | None,
    p95: float | None,
    total: float,
) -> dict[str, Any]:
    return {
        "analysed": analysed,
        "errors": errors,
        "not_analysed": skipped,
        "median_ms": median,
        "p95_ms": p95,
        "total_ms": float(total),
    }
