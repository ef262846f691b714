"""SLA targets on tickets (issue 15): `due_at` from the policy of its priority.

The clock starts when the ticket arrived. Until our first reply is sent the
ticket is due by its first-response target, after it by its resolution target;
a priority change recomputes both from the arrival (an agent who typed a due
date on the form keeps theirs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Min
from django.db.models.functions import Coalesce

from triage.business_hours import BusinessHours, business_add
from triage.models import Message, SlaPolicy, Ticket

logger = logging.getLogger(__name__)

# Used when a priority has no policy row (a flushed test database, a deleted
# row); migration 0015 writes the same values as editable rows.
DEFAULT_TARGETS = {
    Ticket.Priority.URGENT: (1.0, 8.0, True),
    Ticket.Priority.HIGH: (4.0, 24.0, False),
    Ticket.Priority.NORMAL: (8.0, 40.0, False),
    Ticket.Priority.LOW: (16.0, 80.0, False),
}
SLA_FIELDS = ["first_response_due_at", "due_at"]


@dataclass(frozen=True)
class Targets:
    first_response_hours: float
    resolution_hours: float
    around_the_clock: bool

    def deadline(self, start: datetime, hours: float) -> datetime:
        if self.around_the_clock:
            return start + timedelta(hours=hours)
        return business_add(start, hours, BusinessHours.from_settings())


def sla_targets(priority: int) -> Targets:
    policy = SlaPolicy.objects.filter(priority=priority).first()
    if policy is not None:
        return Targets(
            policy.first_response_hours,
            policy.resolution_hours,
            policy.around_the_clock,
        )
    first, resolution, clock = DEFAULT_TARGETS.get(
        Ticket.Priority(priority), DEFAULT_TARGETS[Ticket.Priority.NORMAL]
    )
    return Targets(first, resolution, clock)


def sla_apply(ticket: Ticket) -> list[str]:
    """Set the ticket's targets from its priority (not saved): the fields the
    caller adds to its `update_fields`."""
    targets = sla_targets(ticket.priority)
    ticket.first_response_due_at = targets.deadline(
        ticket.created_at, targets.first_response_hours
    )
    if ticket.first_response_at is None:
        ticket.due_at = ticket.first_response_due_at
    else:
        ticket.due_at = targets.deadline(ticket.created_at, targets.resolution_hours)
    return list(SLA_FIELDS)


def sla_first_response(ticket_id: int, at: datetime) -> bool:
    """Our first reply to the ticket went out at `at`: recorded once (a
    conditional update, so two sends at once stamp it once); the ticket is now
    due by its resolution target. True when this call recorded it."""
    ticket = Ticket.objects.filter(pk=ticket_id, first_response_at__isnull=True).first()
    if ticket is None:
        return False
    ticket.first_response_at = at
    sla_apply(ticket)
    return bool(
        Ticket.objects.filter(pk=ticket_id, first_response_at__isnull=True).update(
            first_response_at=at,
            first_response_due_at=ticket.first_response_due_at,
            due_at=ticket.due_at,
        )
    )


PERM_MANAGE = "triage.change_slapolicy"


def sla_policy_save(*, policy: SlaPolicy, user: Any) -> SlaPolicy:
    """Create or change a policy: team leads and superusers. Applies to tickets
    whose priority is set from now on (existing due dates are kept)."""
    if user is None or not user.is_active or not user.has_perm(PERM_MANAGE):
        raise PermissionDenied(f"Needs the {PERM_MANAGE} permission.")
    policy.full_clean()
    policy.save()
    logger.info(
        "SLA policy for priority %s set by %s: %s h / %s h",
        policy.priority,
        user.get_username(),
        policy.first_response_hours,
        policy.resolution_hours,
    )
    return policy


def sla_backfill(*, chunk: int = 1000, progress: Any = None) -> int:
    """Targets for tickets that have none (opened before SLA policies existed):
    the clock from their arrival, first response from our first reply sent. A
    due date an agent typed is kept. Idempotent; returns how many it set."""
    targets: dict[int, Targets] = {}
    done, last = 0, 0
    while True:
        tickets = list(
            Ticket.objects.filter(first_response_due_at__isnull=True, pk__gt=last)
            .only("pk", "priority", "created_at", "due_at", "first_response_at")
            .order_by("pk")[:chunk]
        )
        if not tickets:
            return done
        replied = dict(
            Message.objects.filter(
                ticket_id__in=[t.pk for t in tickets],
                direction=Message.Direction.OUTBOUND,
            )
            .values("ticket_id")
            .annotate(first=Min(Coalesce("sent_at", "received_at")))
            .values_list("ticket_id", "first")
        )
        for ticket in tickets:
            typed = ticket.due_at
            ticket.first_response_at = ticket.first_response_at or replied.get(
                ticket.pk
            )
            policy = targets.setdefault(ticket.priority, sla_targets(ticket.priority))
            ticket.first_response_due_at = policy.deadline(
                ticket.created_at, policy.first_response_hours
            )
            ticket.due_at = typed or (
                ticket.first_response_due_at
                if ticket.first_response_at is None
                else policy.deadline(ticket.created_at, policy.resolution_hours)
            )
        Ticket.objects.bulk_update(
            tickets, ["first_response_at", "first_response_due_at", "due_at"]
        )
        done += len(tickets)
        last = tickets[-1].pk
        if progress is not None:
            progress(done)
