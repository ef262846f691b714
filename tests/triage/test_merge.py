"""Issue 15 item 5: merge two tickets, split a message into a new ticket.

Tickets come from the real ingest (so their audit history is the real one);
counts are taken before and after, nothing is mocked.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from tests.factories import MessageFactory, ReplyDraftFactory, UserFactory, make_eml
from triage import selectors
from triage.models import (
    Analysis,
    AuditEvent,
    Message,
    ReplyDraft,
    Ticket,
    TicketNote,
)
from triage.services import email_ingest, reply_create
from triage.services.notes import note_add
from triage.services.ticket_merge import message_split, ticket_merge

pytestmark = pytest.mark.django_db


def ingest(body: str, subject: str, sender: str, message_id: str, **kw) -> Message:
    raw = make_eml(
        body=body, subject=subject, sender=sender, message_id=message_id, **kw
    )
    return email_ingest(raw, source="t").message


@pytest.fixture
def pair(settings, agent):
    """Two tickets of one customer, each with mail, drafts, notes and history."""
    settings.TRIAGE_MODELS = {}
    first = ingest("Parcel late", "Parcel", "Kim <kim@example.com>", "<a-1@x.com>")
    ingest(
        "Still late",
        f"Re: [#{first.ticket_id}] Parcel",
        "Kim <kim@example.com>",
        "<a-2@x.com>",
        in_reply_to="<a-1@x.com>",
    )
    other = ingest(
        "Wrong zebra colour", "Zebra", "Kim <kim@example.com>", "<b-1@x.com>"
    )
    Analysis.objects.create(
        message=other, step="answer", result={"answer": "a blue zebra", "score": 0.9}
    )
    note_add(ticket_id=other.ticket_id, user=agent, body="Customer called too")
    reply_create(ticket_id=other.ticket_id, user=agent, text="We check the zebra")
    return Ticket.objects.get(pk=other.ticket_id), Ticket.objects.get(
        pk=first.ticket_id
    )


def test_merge_keeps_every_message_draft_note_and_audit_event(pair, agent):
    source, target = pair
    messages = set(Message.objects.values_list("pk", flat=True))
    events = set(AuditEvent.objects.values_list("pk", flat=True))
    source_messages = set(source.messages.values_list("pk", flat=True))
    source_events = set(source.audit_events.values_list("pk", flat=True))
    assert source_messages and source_events and target.messages.count() == 2

    ticket_merge(source, target, agent)

    assert set(Message.objects.values_list("pk", flat=True)) == messages
    assert set(target.messages.values_list("pk", flat=True)) >= source_messages
    assert target.messages.count() == 3
    assert not source.messages.exists()
    # Every event survives; the source's moved over; one new event on each side.
    after = set(AuditEvent.objects.values_list("pk", flat=True))
    assert after > events and len(after) == len(events) + 2
    assert set(target.audit_events.values_list("pk", flat=True)) >= source_events
    [on_source] = source.audit_events.all()
    assert on_source.action == "ticket_merged_into" and on_source.actor == agent
    assert on_source.detail["target"] == target.pk
    on_target = target.audit_events.get(action="ticket_merged")
    assert on_target.detail["source"] == source.pk
    assert on_target.detail["moved"]["messages"] == 1
    assert ReplyDraft.objects.get().ticket == target
    assert TicketNote.objects.get().ticket == target
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.merged_into == target and source.status == Ticket.Status.CLOSED
    # The list's stored fields and search follow the moved mail.
    assert target.latest_answer == "a blue zebra"
    assert target.draft_status == ReplyDraft.Status.DRAFTED
    assert source.latest_answer == "" and source.draft_status == ""
    found = selectors.ticket_search(Ticket.objects.all(), "colour")
    assert list(found.values_list("pk", flat=True)) == [target.pk]


def test_merge_refuses_itself_a_merged_ticket_and_users_without_the_role(pair, agent):
    source, target = pair
    with pytest.raises(ValidationError):
        ticket_merge(source, source, agent)
    with pytest.raises(ValidationError):
        ticket_merge(source, 999_999, agent)
    with pytest.raises(PermissionDenied):
        ticket_merge(source, target, UserFactory(username="visitor"))
    ticket_merge(source, target, agent)
    with pytest.raises(ValidationError, match="already merged"):
        ticket_merge(source, target, agent)
    third = ingest("Hi", "Other", "Lee <lee@example.com>", "<c-1@x.com>").ticket
    with pytest.raises(ValidationError, match="already merged"):
        ticket_merge(third, source, agent)
    assert not AuditEvent.objects.filter(ticket=third, action__contains="merge")


def test_the_merged_ticket_page_redirects_and_its_mail_threads_to_the_target(
    client, pair, agent
):
    source, target = pair
    ticket_merge(source, target, agent)
    client.force_login(agent)
    response = client.get(reverse("admin:triage_ticket_change", args=[source.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:triage_ticket_change", args=[target.pk]
    )
    # The customer answers the source's subject tag: it joins the target.
    late = ingest(
        "Any news on the zebra?",
        f"Re: [#{source.pk}] Zebra",
        "Kim <kim@example.com>",
        "<b-2@x.com>",
    )
    assert late.ticket_id == target.pk


def test_split_moves_a_message_and_its_drafts_to_a_new_ticket(settings, agent):
    settings.TRIAGE_MODELS = {}
    first = ingest("Parcel late", "Parcel", "Kim <kim@example.com>", "<s-1@x.com>")
    second = ingest(
        "Also: change my address",
        f"Re: [#{first.ticket_id}] Parcel",
        "Kim <kim@example.com>",
        "<s-2@x.com>",
        in_reply_to="<s-1@x.com>",
    )
    draft = ReplyDraftFactory(in_reply_to_message=second, text="Address changed")
    old = first.ticket
    events_before = AuditEvent.objects.count()

    new = message_split(second, agent)

    second.refresh_from_db()
    draft.refresh_from_db()
    assert second.ticket == new and draft.ticket == new
    assert list(old.messages.values_list("pk", flat=True)) == [first.pk]
    assert new.customer_email == "kim@example.com"
    assert new.subject == f"Re: [#{old.pk}] Parcel"
    assert AuditEvent.objects.count() == events_before + 2
    out = old.audit_events.get(action="message_split_out")
    assert out.detail == {
        "message": second.pk,
        "new_ticket": new.pk,
        "drafts": [draft.pk],
    }
    assert new.audit_events.get(action="ticket_split_from").actor == agent
    new.refresh_from_db()
    assert new.draft_status == ReplyDraft.Status.DRAFTED
    # The last message cannot be split off; nor can our own mail.
    with pytest.raises(ValidationError, match="only message from the customer"):
        message_split(first, agent)
    ours = MessageFactory(ticket=old, direction=Message.Direction.OUTBOUND)
    with pytest.raises(ValidationError, match="customer's message"):
        message_split(ours, agent)
    with pytest.raises(ValidationError, match="only message from the customer"):
        message_split(first, agent)  # our reply beside it does not count
    with pytest.raises(PermissionDenied):
        message_split(second, UserFactory(username="visitor"))


def test_merge_and_split_views_need_post_csrf_and_the_role(pair, agent):
    source, target = pair
    merge_url = reverse("triage_ticket_merge", args=[source.pk])
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(agent)
    assert csrf_client.post(merge_url, {"target": target.pk}).status_code == 403
    client = Client()
    client.force_login(agent)
    assert client.get(merge_url).status_code == 405
    client.force_login(UserFactory(username="visitor"))
    assert client.post(merge_url, {"target": target.pk}).status_code == 403
    message = source.messages.get()
    split_url = reverse("triage_message_split", args=[message.pk])
    assert client.post(split_url).status_code == 403
    assert Ticket.objects.get(pk=source.pk).merged_into is None
    anonymous = Client()
    assert anonymous.post(merge_url, {"target": target.pk}).status_code == 302
    client.force_login(agent)
    response = client.post(merge_url, {"target": f"#{target.pk}"})
    assert response["Location"] == reverse(
        "admin:triage_ticket_change", args=[target.pk]
    )
    assert Ticket.objects.get(pk=source.pk).merged_into_id == target.pk
