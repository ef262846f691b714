"""Reads for the team leads' overview page."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    F,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from triage.models import ReplyDraft, Ticket
from triage.selectors.common import language_info

OPEN_STATUSES = (Ticket.Status.NEW, Ticket.Status.NEEDS_REVIEW, Ticket.Status.WAITING)
# (label, lower bound in hours, upper bound in hours or None)
AGE_BUCKETS = (
    ("< 4 h", 0, 4),
    ("4-24 h", 4, 24),
    ("1-3 days", 24, 72),
    ("> 3 days", 72, None),
)


def overview_tickets_per_day(*, days: int = 14) -> dict[str, Any]:
    """Tickets created per day, split by the sentiment shown in the list."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    rows = (
        # A range on the indexed column, not `created_at__date` (a cast per row).
        Ticket.objects.filter(created_at__gte=_day_start(first))
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "shown_sentiment")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for row in rows:
        counts[row["day"]][_sentiment_key(row["shown_sentiment"])] += row["n"]
    series = sorted({key for day in counts.values() for key in day}, key=_sent_order)
    table = [
        {
            "day": first + timedelta(days=i),
            "counts": [counts[first + timedelta(days=i)][s] for s in series],
            "total": sum(counts[first + timedelta(days=i)].values()),
        }
        for i in range(days)
    ]
    return {"series": series, "rows": table}


def overview_intent_mix(*, days: int = 30) -> list[dict[str, Any]]:
    since = timezone.now() - timedelta(days=days)
    rows = (
        Ticket.objects.filter(created_at__gte=since)
        .values("shown_intent")
        .annotate(n=Count("pk"))
        .order_by("-n", "shown_intent")
    )
    total = sum(row["n"] for row in rows) or 1
    return [
        {
            "intent": row["shown_intent"] or "(not classified)",
            "count": row["n"],
            "share": row["n"] / total,
        }
        for row in rows
    ]


def overview_open_by_priority_age() -> dict[str, Any]:
    """Open tickets (not closed) per priority, in age buckets."""
    now = timezone.now()
    aggregates = {}
    for i, (_, low, high) in enumerate(AGE_BUCKETS):
        q = Q(created_at__lte=now - timedelta(hours=low))
        if high is not None:
            q &= Q(created_at__gt=now - timedelta(hours=high))
        aggregates[f"b{i}"] = Count("pk", filter=q)
    found = {
        row["priority"]: row
        for row in Ticket.objects.filter(status__in=OPEN_STATUSES)
        .values("priority")
        .annotate(**aggregates)
        .order_by("priority")
    }
    rows = []
    for priority in Ticket.Priority:
        row = found.get(priority.value, {})
        counts = [row.get(f"b{i}", 0) for i in range(len(AGE_BUCKETS))]
        rows.append({"priority": priority, "counts": counts, "total": sum(counts)})
    return {"buckets": [label for label, _, _ in AGE_BUCKETS], "rows": rows}


def overview_time_to_approval(*, days: int = 30) -> dict[str, Any]:
    """Median hours from the customer's message to the approval of our reply."""
    since = timezone.now() - timedelta(days=days)
    if connection.vendor == "postgresql":
        rows, overall = _approval_medians_sql(since)
    else:
        drafts = ReplyDraft.objects.filter(
            approved_at__gte=since, arrived_at__isnull=False
        ).annotate(arrived=F("arrived_at"))
        rows, overall = _approval_medians_python(drafts)
    return {
        "rows": rows,
        "median": overall["median"] if overall["count"] else None,
        "count": overall["count"],
        "days": days,
    }


# Per-day medians and the overall one in a single pass over the window
# (GROUP BY ROLLUP; the ORM has no ROLLUP). Table names are the models'. The
# arrival time is stored on the draft, read with approved_at from one index
# (draft_approval_time_idx): joined to the messages instead, the planner hashed
# every message of the table (300 ms at 100k tickets) to match a month of drafts.
_APPROVAL_SQL = """
SELECT (d.approved_at AT TIME ZONE %s)::date AS day, count(*),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY greatest(extract(epoch FROM
        d.approved_at - d.arrived_at) / 3600.0, 0))
FROM triage_replydraft d
WHERE d.approved_at >= %s AND d.arrived_at IS NOT NULL
GROUP BY ROLLUP (1)
ORDER BY 1 NULLS LAST
"""


def _approval_medians_sql(since: datetime) -> tuple[list[dict], dict]:
    """Per-day and overall medians computed by PostgreSQL: no rows to Python."""
    with connection.cursor() as cursor:
        cursor.execute(_APPROVAL_SQL, [timezone.get_current_timezone_name(), since])
        found = cursor.fetchall()
    rows = [
        {"day": day, "count": count, "median": median}
        for day, count, median in found
        if day is not None
    ]
    total = [(count, median) for day, count, median in found if day is None]
    count, median = total[0] if total else (0, None)
    return rows, {"count": count, "median": median}


def _approval_medians_python(drafts: QuerySet) -> tuple[list[dict], dict]:
    """SQLite has no percentile function: the (small) rows are read instead."""
    per_day: dict[date, list[float]] = defaultdict(list)
    all_hours = []
    for approved_at, arrived in drafts.values_list("approved_at", "arrived"):
        hours = max((approved_at - arrived).total_seconds(), 0) / 3600
        per_day[timezone.localdate(approved_at)].append(hours)
        all_hours.append(hours)
    rows = [
        {"day": day, "count": len(hours), "median": statistics.median(hours)}
        for day, hours in sorted(per_day.items())
    ]
    overall = {
        "count": len(all_hours),
        "median": statistics.median(all_hours) if all_hours else None,
    }
    return rows, overall


def _day_start(day: date) -> datetime:
    """Midnight of `day` in the current time zone, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _sentiment_key(label: str | None) -> str:
    return (label or "unknown").upper()


def _sent_order(label: str) -> tuple[int, str]:
    order = {"NEGATIVE": 0, "NEUTRAL": 1, "POSITIVE": 2}
    return (order.get(label, 3), label)


def overview_not_analysed() -> list[dict[str, Any]]:
    """Open tickets no model here could read, per language (most first)."""
    rows = (
        Ticket.objects.filter(status__in=OPEN_STATUSES)
        .exclude(not_analysed="")
        .values("language")
        .annotate(n=Count("pk"))
        .order_by("-n", "language")
    )
    return [
        {"language": language_info(row["language"] or "und"), "count": row["n"]}
        for row in rows
    ]
