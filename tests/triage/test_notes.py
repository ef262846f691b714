"""Internal notes (issue 15 item 1): never sent, audited, @mentions notify."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import TicketFactory, UserFactory
from triage.models import AuditEvent, Message, Notification, TicketNote
from triage.services import roles_sync
from triage.services.notes import note_add, note_mentions, notification_mark_read

pytestmark = pytest.mark.django_db


@pytest.fixture
def roles():
    return roles_sync()


def test_mentions_are_parsed_without_emails_or_punctuation():
    body = "Ask @sam.lee and @ann-2. Not mail@example.com, again @sam.lee"
    assert note_mentions(body) == ["sam.lee", "ann-2"]


def test_a_note_notifies_mentioned_staff_only_and_is_audited(roles):
    author = UserFactory(username="writer", groups=[roles["Agents"]])
    colleague = UserFactory(username="colleague", groups=[roles["Agents"]])
    UserFactory(username="outsider", is_staff=False)
    UserFactory(username="gone", is_active=False)
    ticket = TicketFactory()

    note = note_add(
        ticket_id=ticket.pk,
        user=author,
        body="  @colleague can you check? cc @outsider @gone @writer @nobody  ",
    )

    assert TicketNote.objects.get().body.startswith("@colleague can you check?")
    notices = list(Notification.objects.all())
    assert [n.recipient for n in notices] == [colleague]
    assert notices[0].note == note and notices[0].ticket == ticket
    event = AuditEvent.objects.get(ticket=ticket, action="note_added")
    assert event.actor == author
    assert event.detail == {"note": note.pk, "mentioned": ["colleague"]}
    # Never sent: a note adds no message to the thread.
    assert not Message.objects.filter(ticket=ticket).exists()

    # Someone else cannot mark it read; the recipient can.
    notification_mark_read(notification_id=notices[0].pk, user=author)
    assert Notification.objects.get().read_at is None
    notification_mark_read(notification_id=notices[0].pk, user=colleague)
    assert Notification.objects.get().read_at is not None


def test_a_note_needs_the_permission_and_text(roles):
    ticket = TicketFactory()
    with pytest.raises(PermissionDenied):
        note_add(ticket_id=ticket.pk, user=UserFactory(), body="hello")
    agent = UserFactory(groups=[roles["Agents"]])
    with pytest.raises(ValidationError):
        note_add(ticket_id=ticket.pk, user=agent, body="   ")
    assert not TicketNote.objects.exists()
    assert not AuditEvent.objects.filter(action="note_added").exists()


def test_hostile_note_text_is_stored_verbatim(roles):
    agent = UserFactory(groups=[roles["Agents"]])
    ticket = TicketFactory()
    with pytest.raises(ValidationError):
        note_add(ticket_id=ticket.pk, user=agent, body="nul \x00 byte")
    body = "<script>alert(1)</script> 'quote\" ; DROP TABLE x; -- @\u202eevil"
    note_add(ticket_id=ticket.pk, user=agent, body=body)
    assert TicketNote.objects.get().body == body.strip()
