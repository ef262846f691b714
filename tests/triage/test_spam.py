"""Spam and blocked senders (issue 15 item 6)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from tests.factories import UserFactory, make_eml
from triage.models import AuditEvent, BlockedSender, Message, Ticket
from triage.services import email_ingest, roles_sync
from triage.services.spam import ticket_mark_spam, ticket_unmark_spam

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return UserFactory(groups=[roles_sync()["Agents"]])


def ingest(settings, n: int, sender="Spammer <Win@Prizes.example>"):
    settings.TRIAGE_MODELS = {}
    raw = make_eml(
        body="You won!", subject=f"Prize {n}", sender=sender, message_id=f"<p{n}@x>"
    )
    return email_ingest(raw, source="t").message


def test_spam_blocks_future_mail_and_undo_restores(agent, settings):
    first = ingest(settings, 1)
    ticket = ticket_mark_spam(ticket_id=first.ticket_id, user=agent, block_sender=True)
    assert ticket.is_spam and ticket.status == Ticket.Status.CLOSED
    assert BlockedSender.objects.filter(email="win@prizes.example").exists()

    second = ingest(settings, 2, sender="WIN@prizes.example")
    assert Message.objects.filter(pk=second.pk).exists()  # stored, not dropped
    later = Ticket.objects.get(pk=second.ticket_id)
    assert later.is_spam and later.status == Ticket.Status.CLOSED
    assert AuditEvent.objects.filter(
        ticket=later, action="blocked_sender_closed"
    ).exists()

    ticket = ticket_unmark_spam(
        ticket_id=first.ticket_id, user=agent, unblock_sender=True
    )
    assert not ticket.is_spam and ticket.status == Ticket.Status.NEW
    assert not BlockedSender.objects.exists()
    third = ingest(settings, 3)
    assert not Ticket.objects.get(pk=third.ticket_id).is_spam
    assert [
        e.action
        for e in AuditEvent.objects.filter(ticket_id=first.ticket_id).order_by("pk")
    ][-2:] == ["marked_spam", "unmarked_spam"]


def test_spam_needs_the_change_permission(settings):
    first = ingest(settings, 1)
    with pytest.raises(PermissionDenied):
        ticket_mark_spam(
            ticket_id=first.ticket_id, user=UserFactory(), block_sender=True
        )
    assert not BlockedSender.objects.exists()
