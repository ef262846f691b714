"""How fast the workers analyse mail on this deployment's hardware: per step, and
from a mail's arrival to its analysis.

Read from the milliseconds every ``Analysis`` row records (a batch's time shared by
the mails in it: ms per email): what a team lead checks after a deploy, a model
change or a new GPU ("is the draft still 80% of the time?"), and what
``bench/pipeline.py`` measures before one.

The window is the last days, at most the newest ``RECENT_ROWS`` analyses: the
cost stays the same however busy the desk (a week at 100k tickets was 84k rows and
0.6 s of heap reads, cold), and a recent slowdown is not averaged away by
thousands of older rows. Rows without a time (a step that did not read the mail's
language records 0 ms, as do rows written by imports) are left out, so they do
not pull the median to zero. ``analysis_speed_idx`` holds every column read:
PostgreSQL answers from the index alone.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from triage.models import UNTRIAGED, Analysis, Message
from workers import contract

# About 2,500 mails at eight steps each.
RECENT_ROWS = 20_000
RECENT_MAILS = 2_500

_SPEED_SQL = """
SELECT step, count(*),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms),
    percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms),
    sum(duration_ms)
FROM (
    SELECT step, duration_ms FROM {table}
    WHERE created_at >= %s ORDER BY created_at DESC LIMIT %s
) AS recent
WHERE duration_ms > 0
GROUP BY step
"""


def overview_pipeline_speed(
    *, days: int = 7, limit: int = RECENT_ROWS
) -> dict[str, Any]:
    """Per step: mails timed, median and 95th percentile ms per email, and the
    step's share of the workers' time; built-in steps in pipeline order, then any
    step added as a file."""
    since = timezone.now() - timedelta(days=days)
    if connection.vendor == "postgresql":
        found = _speed_sql(since, limit)
    else:
        found = _speed_python(since, limit)
    total_ms = sum(row["total_ms"] for row in found.values())
    order = {name: i for i, name in enumerate(contract.STEP_NAMES)}
    rows = [
        {
            **found[step],
            "step": step,
            "label": contract.STEP_LABELS.get(step, step),
            "share": found[step]["total_ms"] / total_ms if total_ms else 0.0,
        }
        for step in sorted(found, key=lambda s: (order.get(s, len(order)), s))
    ]
    return {
        "days": days,
        "limit": limit,
        "rows": rows,
        "total_ms": total_ms,
        "latency": triage_latency(days=days),
    }


_LATENCY_SQL = """
SELECT count(*),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds),
    percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds)
FROM (
    SELECT greatest(extract(epoch FROM triaged_at - received_at), 0) AS seconds
    FROM {table}
    WHERE triaged_at >= %s ORDER BY triaged_at DESC LIMIT %s
) AS recent
"""


def triage_latency(*, days: int = 7, limit: int = RECENT_MAILS) -> dict[str, Any]:
    """How long mail waits for its analysis: the median and 95th percentile
    seconds from arrival to the analysis last saved, over the newest ``limit``
    analysed mails of the window (both read from ``message_triaged_idx``), and
    the mail waiting now with the age of the oldest (``message_untriaged_idx``)."""
    since = timezone.now() - timedelta(days=days)
    if connection.vendor == "postgresql":
        timed, median, p95 = _latency_sql(since, limit)
    else:
        timed, median, p95 = _latency_python(since, limit)
    # COUNT(*), not of a column: answered from message_untriaged_idx alone.
    waiting = Message.objects.filter(
        direction=Message.Direction.INBOUND, triage_status__in=UNTRIAGED
    ).aggregate(count=Count("*"), oldest=Min("received_at"))
    oldest = waiting["oldest"]
    return {
        "limit": limit,
        "timed": timed,
        "median_s": None if median is None else float(median),
        "p95_s": None if p95 is None else float(p95),
        "waiting": waiting["count"],
        "oldest_waiting_s": (
            max((timezone.now() - oldest).total_seconds(), 0.0) if oldest else None
        ),
    }


def _latency_sql(since: datetime, limit: int) -> tuple[int, Any, Any]:
    table = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_LATENCY_SQL.format(table=table), [since, limit])
        timed, median, p95 = cursor.fetchone()
    return timed, median, p95


def _latency_python(since: datetime, limit: int) -> tuple[int, Any, Any]:
    recent = (
        Message.objects.filter(triaged_at__gte=since)
        .order_by("-triaged_at")
        .values_list("received_at", "triaged_at")[:limit]
    )
    seconds = [max((t - r).total_seconds(), 0.0) for r, t in recent]
    if not seconds:
        return 0, None, None
    return len(seconds), statistics.median(seconds), _p95(seconds)


def _speed_sql(since: datetime, limit: int) -> dict[str, dict[str, Any]]:
    """One PostgreSQL query: no rows to Python."""
    table = connection.ops.quote_name(Analysis._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_SPEED_SQL.format(table=table), [since, limit])
        found = cursor.fetchall()
    return {
        step: _row(timed, median, p95, total)
        for step, timed, median, p95, total in found
    }


def _speed_python(since: datetime, limit: int) -> dict[str, dict[str, Any]]:
    """SQLite (quick local runs) has no percentile function: the rows are read.
    ``method="inclusive"`` is PostgreSQL's percentile_cont (linear between the
    two nearest rows), so both give the same figures."""
    recent = Analysis.objects.filter(created_at__gte=since).order_by("-created_at")
    durations: dict[str, list[float]] = defaultdict(list)
    for step, duration_ms in recent.values_list("step", "duration_ms")[:limit]:
        if duration_ms > 0:
            durations[step].append(duration_ms)
    return {
        step: _row(len(values), statistics.median(values), _p95(values), sum(values))
        for step, values in durations.items()
    }


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def _row(timed: int, median: float, p95: float, total: float) -> dict[str, Any]:
    return {
        "timed": timed,
        "median_ms": float(median),
        "p95_ms": float(p95),
        "total_ms": float(total),
    }
