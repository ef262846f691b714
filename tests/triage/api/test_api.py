"""Every endpoint and permission of /api/v1/ on the real database, through the
real services (the send goes to the aiosmtpd server of tests/smtp.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import MessageFactory, ReplyDraftFactory, TicketFactory
from tests.triage.api.conftest import client_for
from triage.api.models import ApiToken
from triage.models import Analysis, AuditEvent, ReplyDraft, Ticket
from triage.services.api_tokens import api_token_revoke
from triage.services.reply_approval import reply_version

pytestmark = pytest.mark.django_db


def test_no_token_is_refused(db):
    assert APIClient().get("/api/v1/tickets/").status_code in (401, 403)


def test_a_wrong_token_is_refused(agent):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer trg_deadbeef_nope")
    assert client.get("/api/v1/tickets/").status_code == 401


def test_token_is_hashed_at_rest_and_last_use_is_recorded(agent):
    client, token = client_for(agent)
    token.refresh_from_db()
    assert token.last_used_at is None
    assert client.get("/api/v1/tickets/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    stored = ApiToken.objects.values_list("digest", "prefix").get(pk=token.pk)
    secret = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    assert secret not in stored and secret.startswith(token.prefix)


def test_a_revoked_token_is_refused(agent):
    client, token = client_for(agent)
    assert client.get("/api/v1/tickets/").status_code == 200
    api_token_revoke(token=token)
    response = client.get("/api/v1/tickets/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_deactivated_users_token_is_refused(agent):
    client, _ = client_for(agent)
    agent.is_active = False
    agent.save()
    response = client.get("/api/v1/tickets/")
    assert response.status_code == 401
    assert "deactivated" in response.json()["detail"]


def test_a_user_without_a_role_reads_nothing(db):
    from tests.factories import UserFactory

    client, _ = client_for(UserFactory())
    assert client.get("/api/v1/tickets/").status_code == 403


def test_list_filters_search_and_cursor_pages(agent_api):
    old = TicketFactory(subject="Broken kettle", sentiment_label="NEGATIVE")
    Ticket.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    today_negative = TicketFactory(subject="Broken lamp", sentiment_label="NEGATIVE")
    TicketFactory(subject="Thanks!", sentiment_label="POSITIVE")
    for _ in range(3):
        TicketFactory(subject="Other", sentiment_label="NEUTRAL")

    since = (timezone.now() - timedelta(hours=1)).isoformat()
    rows = agent_api.get(
        "/api/v1/tickets/", {"sentiment": "NEGATIVE", "created_after": since}
    ).json()["results"]
    assert [r["id"] for r in rows] == [today_negative.pk]
    assert rows[0]["sentiment"] == "NEGATIVE"

    # The dashboard's search (an address: the customer's, by prefix).
    found = agent_api.get("/api/v1/tickets/", {"q": old.customer_email}).json()[
        "results"
    ]
    assert [r["id"] for r in found] == [old.pk]

    seen, url = [], "/api/v1/tickets/?page_size=2"
    while url:
        page = agent_api.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert len(seen) == 6 == len(set(seen))
    assert (
        agent_api.get("/api/v1/tickets/", {"created_after": "yesterday"}).status_code
        == 400
    )


def test_detail_has_messages_analyses_drafts_and_audit(agent_api):
    draft = ReplyDraftFactory()
    body = agent_api.get(f"/api/v1/tickets/{draft.ticket_id}/").json()
    assert [m["id"] for m in body["messages"]] == [draft.in_reply_to_message_id]
    assert body["messages"][0]["analyses"] == []
    assert body["drafts"][0]["version"] == reply_version(draft)
    assert body["audit"] == []
    assert agent_api.get("/api/v1/tickets/999999/").status_code == 404


def test_agent_updates_status_and_labels_audited_with_the_tokens_user(agent, agent_api):
    ticket = MessageFactory().ticket
    response = agent_api.patch(
        f"/api/v1/tickets/{ticket.pk}/",
        {
            "status": "waiting",
            "priority": 1,
            "agent_sentiment": "NEGATIVE",
            "agent_intent": "refund",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["sentiment"], response.json()["intent_label"]) == (
        "NEGATIVE",
        "refund",
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("waiting", 1)
    assert (ticket.agent_sentiment, ticket.agent_intent) == ("NEGATIVE", "refund")
    assert ticket.labels_corrected_by == agent
    event = AuditEvent.objects.get(ticket=ticket, action="ticket_updated")
    assert event.actor == agent
    assert event.detail["agent_intent"] == "refund"
    bad = agent_api.patch(
        f"/api/v1/tickets/{ticket.pk}/", {"status": "bogus"}, format="json"
    )
    assert bad.status_code == 400


def test_agent_edits_a_draft_but_cannot_approve_or_reject(agent, agent_api):
    draft = ReplyDraftFactory()
    edited = agent_api.patch(
        f"/api/v1/drafts/{draft.pk}/", {"text": "Better words."}, format="json"
    )
    assert edited.status_code == 200
    assert edited.json()["text"] == "Better words."
    assert AuditEvent.objects.get(action="reply_edited").actor == agent
    version = edited.json()["version"]
    approve = agent_api.post(
        f"/api/v1/drafts/{draft.pk}/approve/", {"version": version}, format="json"
    )
    assert approve.status_code == 403
    reject = agent_api.post(
        f"/api/v1/drafts/{draft.pk}/reject/", {"reason": "no"}, format="json"
    )
    assert reject.status_code == 403
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.DRAFTED


def test_approver_approves_once_and_one_email_is_sent(
    approver, approver_api, smtp, django_capture_on_commit_callbacks
):
    draft = ReplyDraftFactory()
    url = f"/api/v1/drafts/{draft.pk}/approve/"
    stale = approver_api.post(url, {"version": "0" * 16}, format="json")
    assert stale.status_code == 409
    assert approver_api.post(url, {}, format="json").status_code == 400
    version = approver_api.get(f"/api/v1/drafts/{draft.pk}/").json()["version"]
    with django_capture_on_commit_callbacks(execute=True):
        first = approver_api.post(url, {"version": version}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        again = approver_api.post(url, {"version": version}, format="json")
    assert first.status_code == again.status_code == 200
    assert len(smtp.wait_for(2, timeout=2)) == 1
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.SENT
    event = AuditEvent.objects.get(action="reply_approved")
    assert event.actor == approver


def test_approver_rejects_with_a_reason(approver_api):
    draft = ReplyDraftFactory()
    url = f"/api/v1/drafts/{draft.pk}/reject/"
    assert approver_api.post(url, {"reason": "  "}, format="json").status_code == 400
    response = approver_api.post(url, {"reason": "Wrong order"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert approver_api.post(url, {"reason": "x"}, format="json").status_code == 409
    assert approver_api.get("/api/v1/drafts/999999/").status_code == 404


def test_rate_limit_is_per_token(settings, agent):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "api": "2/minute"}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        first, _ = client_for(agent)
        second, _ = client_for(agent)
        codes = [first.get("/api/v1/tickets/").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert second.get("/api/v1/tickets/").status_code == 200
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
        cache.clear()


def test_agent_assigns_tickets_audited(agent, agent_api, approver):
    tickets = [TicketFactory(), TicketFactory()]
    ids = [t.pk for t in tickets]
    response = agent_api.post(
        "/api/v1/tickets/assign/",
        {"tickets": ids, "assignee": approver.username},
        format="json",
    )
    assert response.json() == {"changed": 2}
    assert set(Ticket.objects.values_list("assigned_to", flat=True)) == {approver.pk}
    events = AuditEvent.objects.filter(action="ticket_assigned")
    assert {e.actor for e in events} == {agent}
    again = agent_api.post(
        "/api/v1/tickets/assign/", {"tickets": ids, "assignee": None}, format="json"
    )
    assert again.json() == {"changed": 2}
    nobody = agent_api.post(
        "/api/v1/tickets/assign/", {"tickets": ids, "assignee": "ghost"}, format="json"
    )
    assert nobody.status_code == 400


def test_agent_writes_a_reply_draft(agent, agent_api):
    ticket = MessageFactory().ticket
    response = agent_api.post(
        f"/api/v1/tickets/{ticket.pk}/drafts/", {"text": "We are on it."}, format="json"
    )
    assert response.status_code == 201
    draft = ReplyDraft.objects.get(pk=response.json()["id"])
    assert (draft.text, draft.author, draft.status) == (
        "We are on it.",
        agent,
        "drafted",
    )
    empty = agent_api.post(
        f"/api/v1/tickets/{ticket.pk}/drafts/", {"text": "   "}, format="json"
    )
    assert empty.status_code in (400, 409)
    missing = agent_api.post(
        "/api/v1/tickets/999999/drafts/", {"text": "x"}, format="json"
    )
    assert missing.status_code == 404


def test_a_reader_without_change_rights_cannot_write(db):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    reader = UserFactory()
    reader.user_permissions.add(
        Permission.objects.get(codename="view_ticket", content_type__app_label="triage")
    )
    client, _ = client_for(reader)
    ticket = TicketFactory()
    assert client.get(f"/api/v1/tickets/{ticket.pk}/").status_code == 200
    patch = client.patch(
        f"/api/v1/tickets/{ticket.pk}/", {"status": "closed"}, format="json"
    )
    assert patch.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_overview_figures(agent_api):
    TicketFactory(sentiment_label="NEGATIVE")
    Analysis.objects.create(message=MessageFactory(), step="draft", duration_ms=120.0)
    body = agent_api.get("/api/v1/overview/").json()
    assert set(body) == {
        "tickets_per_day",
        "intent_mix",
        "open_by_priority_age",
        "time_to_approval",
        "analysis_speed",
    }
    assert "NEGATIVE" in str(body["tickets_per_day"])
    (draft,) = body["analysis_speed"]["rows"]
    assert (draft["step"], draft["median_ms"], draft["share"]) == ("draft", 120.0, 1.0)


def test_message_detail_and_customers(agent_api):
    message = MessageFactory()
    TicketFactory(customer_email=message.ticket.customer_email)
    TicketFactory(customer_email="someone.else@example.org")
    body = agent_api.get(f"/api/v1/messages/{message.pk}/").json()
    assert (body["id"], body["text_body"]) == (message.pk, message.text_body)
    assert agent_api.get("/api/v1/messages/999999/").status_code == 404
    rows = agent_api.get(
        "/api/v1/customers/", {"email": message.ticket.customer_email}
    ).json()["results"]
    assert rows == [
        {
            "customer_email": message.ticket.customer_email,
            "tickets": 2,
            "last_ticket_at": rows[0]["last_ticket_at"],
        }
    ]
    assert agent_api.get("/api/v1/customers/").json()["count"] == 2
