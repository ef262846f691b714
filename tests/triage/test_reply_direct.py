"""Issue 15 item 9: agents' own replies, the approval policy, Cc, superseded drafts.

Sends go through the real exactly-once path (eager Celery here) to a real SMTP
server (aiosmtpd).
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from tests.factories import ReplyDraftFactory, UserFactory, make_eml
from triage.models import AuditEvent, Message, ReplyDraft
from triage.services import (
    ReplyRefused,
    email_ingest,
    reply_approve,
    reply_create,
)
from triage.services.replies import reply_version
from triage.services.reply_direct import reply_send_own

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(settings):
    settings.TRIAGE_MODELS = {}
    raw = make_eml(
        body="Where is my parcel?",
        subject="Parcel",
        sender="Kim <kim@example.com>",
        message_id="<parcel-1@example.com>",
    )
    return email_ingest(raw, source="t").message.ticket


def test_own_reply_goes_out_once_with_cc_when_the_policy_allows(
    agent, ticket, smtp, settings, django_capture_on_commit_callbacks
):
    settings.TRIAGE_REPLY_APPROVAL = "model_drafts"
    with django_capture_on_commit_callbacks(execute=True):
        draft = reply_send_own(
            ticket_id=ticket.pk,
            user=agent,
            text="It ships today.",
            cc="boss@example.com; team@example.org",
        )
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.SENT
    assert draft.approved_by == agent
    [mail] = smtp.received
    assert sorted(mail.rcpt_tos) == [
        "boss@example.com",
        "kim@example.com",
        "team@example.org",
    ]
    assert mail.message["Cc"] == "boss@example.com, team@example.org"
    assert "It ships today." in mail.message.get_body().get_content()
    sent = Message.objects.get(direction=Message.Direction.OUTBOUND)
    assert sent.cc == "boss@example.com, team@example.org"
    event = AuditEvent.objects.get(action="reply_sent_directly")
    assert event.actor == agent and event.detail["policy"] == "model_drafts"


def test_policy_all_refuses_direct_send_and_model_drafts_always_need_approval(
    agent, ticket, smtp, settings, django_capture_on_commit_callbacks
):
    settings.TRIAGE_REPLY_APPROVAL = "all"
    with pytest.raises(ReplyRefused):
        reply_send_own(ticket_id=ticket.pk, user=agent, text="Hi")
    assert not ReplyDraft.objects.exists()
    # A model draft: an agent cannot approve it whatever the policy.
    settings.TRIAGE_REPLY_APPROVAL = "model_drafts"
    draft = ReplyDraftFactory(in_reply_to_message=ticket.messages.get(), text="Hi")
    with pytest.raises(PermissionDenied):
        reply_approve(draft_id=draft.pk, user=agent, version=reply_version(draft))
    with pytest.raises(PermissionDenied):
        reply_send_own(ticket_id=ticket.pk, user=UserFactory(), text="Hi")
    assert smtp.received == []


@pytest.mark.parametrize(
    "cc",
    [
        "a@example.com\r\nBcc: evil@example.net",
        "Evil <evil@example.net>",
        "not-an-address",
        ",".join(f"x{i}@example.com" for i in range(11)),
    ],
)
def test_hostile_cc_is_refused(agent, ticket, smtp, cc, settings):
    with pytest.raises(ReplyRefused):
        reply_create(ticket_id=ticket.pk, user=agent, text="Hi", cc=cc)
    assert not ReplyDraft.objects.exists()


def test_a_newer_message_supersedes_open_drafts(agent, ticket, settings):
    first = ticket.messages.get()
    model_draft = ReplyDraftFactory(in_reply_to_message=first, text="Old answer")
    own = reply_create(ticket_id=ticket.pk, user=agent, text="Also old")
    sent = ReplyDraftFactory(
        in_reply_to_message=first,
        text="Sent",
        status=ReplyDraft.Status.SENT,
        created_by=ReplyDraft.Author.AGENT,
    )
    again = make_eml(
        body="Any news?",
        subject=f"Re: [#{ticket.pk}] Parcel",
        sender="Kim <kim@example.com>",
        message_id="<parcel-2@example.com>",
        in_reply_to="<parcel-1@example.com>",
    )
    second = email_ingest(again, source="t").message
    assert second.ticket_id == ticket.pk
    statuses = dict(ReplyDraft.objects.values_list("pk", "status"))
    assert statuses[model_draft.pk] == ReplyDraft.Status.SUPERSEDED
    assert statuses[own.pk] == ReplyDraft.Status.SUPERSEDED
    assert statuses[sent.pk] == ReplyDraft.Status.SENT
    event = AuditEvent.objects.get(action="drafts_superseded")
    assert sorted(event.detail["drafts"]) == sorted([model_draft.pk, own.pk])
