"""Tickets from before SLA policies get targets once, from their own history."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.factories import MessageFactory, TicketFactory
from triage.models import Message, Ticket
from triage.services.sla import sla_targets

pytestmark = pytest.mark.django_db


def _legacy(**fields) -> Ticket:
    ticket = TicketFactory(**fields)
    # As migration 0016 left them: no targets yet.
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_due_at=None, due_at=fields.get("due_at"), first_response_at=None
    )
    return Ticket.objects.get(pk=ticket.pk)


def test_backfill_sets_targets_from_arrival_and_first_reply():
    opened = timezone.now() - timedelta(days=3)
    silent = _legacy(created_at=opened, priority=Ticket.Priority.URGENT)
    answered = _legacy(created_at=opened, priority=Ticket.Priority.URGENT)
    replied_at = opened + timedelta(minutes=30)
    MessageFactory(
        ticket=answered, direction=Message.Direction.OUTBOUND, sent_at=replied_at
    )
    typed_due = timezone.now() + timedelta(days=9)
    typed = _legacy(created_at=opened, due_at=typed_due)

    out = StringIO()
    call_command("sla_backfill", stdout=out)
    assert "SLA targets set on 3 ticket(s)" in out.getvalue()

    urgent = sla_targets(Ticket.Priority.URGENT)
    silent.refresh_from_db()
    assert silent.first_response_at is None
    assert silent.first_response_due_at == urgent.deadline(
        opened, urgent.first_response_hours
    )
    assert silent.due_at == silent.first_response_due_at  # breached: unanswered
    answered.refresh_from_db()
    assert answered.first_response_at == replied_at
    assert answered.due_at == urgent.deadline(opened, urgent.resolution_hours)
    typed.refresh_from_db()
    assert typed.due_at == typed_due and typed.first_response_due_at is not None

    # Again: nothing left to do, nothing changed.
    out = StringIO()
    call_command("sla_backfill", stdout=out)
    assert "SLA targets set on 0 ticket(s)" in out.getvalue()
