"""Reads for SLAs (issue 15): the list's breach/at-risk filter and due marker,
and the overview's SLA block (hit rate, median first response, load per agent).

The overview's figures are aggregates computed by the database (PostgreSQL's
percentile_cont for the median); SQLite, used only by quick local runs, reads
the response times instead.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)
from django.utils import timezone

from triage.models import Ticket

# The SLA clock runs while the ticket waits on us; "waiting on customer" and
# closed tickets are neither breached nor at risk.
ACTIVE_STATUSES = (Ticket.Status.NEW, Ticket.Status.NEEDS_REVIEW)
OPEN_STATUSES = (*ACTIVE_STATUSES, Ticket.Status.WAITING)
BREACHED, AT_RISK, ON_TRACK = "breached", "at_risk", "on_track"
STATE_LABELS = {BREACHED: "Breached", AT_RISK: "At risk", ON_TRACK: "On track"}


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5); NULLs (no response yet) are ignored."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


def sla_at_risk_until(now: datetime) -> datetime:
    return now + timedelta(hours=settings.TRIAGE_SLA_AT_RISK_HOURS)


def sla_filter(
    queryset: QuerySet[Ticket], state: str, now: datetime | None = None
) -> QuerySet[Ticket]:
    """Tickets of the queryset in an SLA state (`breached`, `at_risk`, `on_track`)."""
    if state not in STATE_LABELS:
        return queryset
    return queryset.filter(_state_q(state, now or timezone.now()))


def sla_state(ticket: Ticket, now: datetime | None = None) -> str:
    """The ticket's SLA state, '' when its clock is not running."""
    if ticket.due_at is None or ticket.status not in ACTIVE_STATUSES:
        return ""
    now = now or timezone.now()
    if ticket.due_at < now:
        return BREACHED
    if ticket.due_at < sla_at_risk_until(now):
        return AT_RISK
    return ON_TRACK


def sla_overview(*, days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    """First-response hit rate and median over tickets created in the last
    `days`; breached and at-risk tickets now; open tickets per assignee."""
    now = now or timezone.now()
    tickets = Ticket.objects.filter(is_spam=False)
    window = tickets.filter(
        created_at__gte=now - timedelta(days=days), first_response_due_at__isnull=False
    )
    response = ExpressionWrapper(
        F("first_response_at") - F("created_at"), output_field=DurationField()
    )
    met = Q(first_response_at__lte=F("first_response_due_at"))
    missed = Q(first_response_at__gt=F("first_response_due_at")) | Q(
        first_response_at__isnull=True, first_response_due_at__lt=now
    )
    # One pass over the window (ticket_sla_window_idx holds every column read).
    aggregates: dict[str, Any] = {
        "met": Count("pk", filter=met),
        "missed": Count("pk", filter=missed),
    }
    if connection.vendor == "postgresql":
        aggregates["median"] = Median(response, output_field=DurationField())
    figures: dict[str, Any] = window.aggregate(**aggregates)
    median = figures.get("median")
    if connection.vendor != "postgresql":
        times = [
            t for t in window.annotate(r=response).values_list("r", flat=True) if t
        ]
        median = statistics.median(times) if times else None
    decided = figures["met"] + figures["missed"]
    # Only tickets whose clock runs (ticket_sla_open_idx), not the whole table.
    now_counts = tickets.filter(
        status__in=ACTIVE_STATUSES, due_at__isnull=False
    ).aggregate(
        breached=Count("pk", filter=_state_q(BREACHED, now)),
        at_risk=Count("pk", filter=_state_q(AT_RISK, now)),
    )
    return {
        "days": days,
        "met": figures["met"],
        "missed": figures["missed"],
        "hit_rate": figures["met"] / decided if decided else None,
        "median_hours": median.total_seconds() / 3600 if median is not None else None,
        "breached_now": now_counts["breached"],
        "at_risk_now": now_counts["at_risk"],
        "at_risk_hours": settings.TRIAGE_SLA_AT_RISK_HOURS,
        "load": sla_agent_load(now),
    }


def sla_agent_load(now: datetime | None = None) -> list[dict[str, Any]]:
    """Open tickets per assignee (unassigned as ''), most loaded first."""
    now = now or timezone.now()
    rows = (
        Ticket.objects.filter(is_spam=False, status__in=OPEN_STATUSES)
        .values("assigned_to__username")
        .annotate(
            open=Count("pk"),
            breached=Count("pk", filter=_state_q(BREACHED, now)),
        )
        .order_by("-open", F("assigned_to__username").asc(nulls_last=True))
    )
    return [
        {
            "agent": row["assigned_to__username"] or "",
            "open": row["open"],
            "breached": row["breached"],
        }
        for row in rows
    ]


def _state_q(state: str, now: datetime) -> Q:
    active = Q(status__in=ACTIVE_STATUSES, due_at__isnull=False)
    if state == BREACHED:
        return active & Q(due_at__lt=now)
    if state == AT_RISK:
        return active & Q(due_at__gte=now, due_at__lt=sla_at_risk_until(now))
    return active & Q(due_at__gte=sla_at_risk_until(now))
