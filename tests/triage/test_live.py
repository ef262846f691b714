"""The ticket page's live JSON, presence heartbeats and "Assign to me" (issue 15
item 10). The browser side is tests/e2e/test_keyboard_live_browser.py."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import ReplyDraftFactory, TicketFactory, UserFactory, make_eml
from triage.models import AuditEvent, ReplyDraft, Ticket
from triage.services import email_ingest, roles_sync
from triage.services import presence as presence_module

pytestmark = pytest.mark.django_db


@pytest.fixture
def agents():
    cache.clear()
    group = roles_sync()["Agents"]
    yield (
        UserFactory(username="alice", first_name="Alice", groups=[group]),
        UserFactory(username="bob", groups=[group]),
    )
    cache.clear()


def live_url(ticket) -> str:
    return reverse("admin:triage_ticket_live", args=[ticket.pk])


def test_live_numbers_follow_triage_and_sends(client, agents, settings):
    settings.TRIAGE_MODELS = {}
    message = email_ingest(
        make_eml(body="Hello", subject="Hi", message_id="<l1@x>"), source="t"
    ).message
    ticket = message.ticket
    client.force_login(agents[0])
    first = client.get(live_url(ticket)).json()
    assert first["inbound"] == 1 and first["sent"] == 0
    # Eager tasks, no models: the message is triaged (nothing ran) at ingest.
    assert first["pending"] + first["triaged"] == 1
    ReplyDraftFactory(ticket=ticket, status=ReplyDraft.Status.SENT)
    ReplyDraftFactory(ticket=ticket, status=ReplyDraft.Status.APPROVED)
    after = client.get(live_url(ticket)).json()
    assert (after["sent"], after["sending"]) == (1, 1)


def test_presence_shows_colleagues_not_oneself_and_expires(
    client, agents, settings, monkeypatch
):
    alice, bob = agents
    ticket = TicketFactory()
    client.force_login(alice)
    assert client.post(live_url(ticket), {"state": "replying"}).json()["presence"] == []
    client.force_login(bob)
    seen = client.post(live_url(ticket), {"state": "viewing"}).json()["presence"]
    assert seen == [{"name": "Alice", "state": "replying"}]
    # A bogus state is read as viewing.
    client.post(live_url(ticket), {"state": "<script>"})
    client.force_login(alice)
    assert client.get(live_url(ticket)).json()["presence"] == [
        {"name": "bob", "state": "viewing"}
    ]
    # Another ticket shows nobody.
    assert client.get(live_url(TicketFactory())).json()["presence"] == []
    # A beat older than the TTL no longer counts (a closed tab).
    later = presence_module.time.time() + settings.TRIAGE_PRESENCE_SECONDS + 1
    monkeypatch.setattr(presence_module.time, "time", lambda: later)
    assert client.get(live_url(ticket)).json()["presence"] == []


def test_live_is_cheap_and_permission_checked(client, agents):
    ticket = TicketFactory()
    client.force_login(agents[0])
    client.get(live_url(ticket))
    with CaptureQueriesContext(connection) as ctx:
        assert client.post(live_url(ticket), {"state": "viewing"}).status_code == 200
    # Session, user and permissions (Django's), then ours: the ticket's
    # existence and two aggregates on the ticket's indexed foreign keys.
    ours = [q["sql"] for q in ctx.captured_queries if '"triage_' in q["sql"]]
    assert len(ours) == 3, ours
    assert len(ctx.captured_queries) <= 7
    assert (
        client.get(reverse("admin:triage_ticket_live", args=[999999])).status_code
        == 404
    )
    client.force_login(UserFactory())  # staff without a role
    assert client.get(live_url(ticket)).status_code == 403
    client.logout()
    assert client.get(live_url(ticket)).status_code == 302  # to the login page


def test_assign_to_me_writes_an_audit_event(client, agents):
    alice, _ = agents
    ticket = TicketFactory()
    url = reverse("admin:triage_ticket_assign_me", args=[ticket.pk])
    client.force_login(alice)
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).assigned_to == alice
    event = AuditEvent.objects.get(ticket=ticket, action="ticket_assigned")
    assert event.actor == alice and event.detail == {"assigned_to": "alice"}
    client.post(url)  # again: nothing changes, no second event
    assert AuditEvent.objects.filter(action="ticket_assigned").count() == 1
    assert (
        client.post(reverse("admin:triage_ticket_assign_me", args=[999999])).status_code
        == 404
    )
    viewer = UserFactory()
    viewer.user_permissions.add(
        *roles_sync()["Agents"].permissions.filter(codename="view_ticket")
    )
    client.force_login(viewer)
    assert client.post(url).status_code == 403
