"""/api/v1/ notes (through the notes service: mentions notify, writes audited)
and messages (cursor pages, never the raw MIME) on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from tests.factories import MessageFactory, TicketFactory, UserFactory
from tests.triage.api.conftest import client_for
from triage.models import AuditEvent, Message, Notification, TicketNote

pytestmark = pytest.mark.django_db


def _reader(*codenames: str):
    """A user with only these triage permissions (no role)."""
    user = UserFactory()
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="triage", codename__in=codenames
        )
    )
    return user


def test_agent_adds_a_note_that_notifies_the_mentioned_colleague(
    agent, agent_api, approver
):
    ticket = TicketFactory()
    inactive = UserFactory(username="gone", is_active=False)
    url = f"/api/v1/tickets/{ticket.pk}/notes/"
    response = agent_api.post(
        url,
        {"body": "  Customer called; @approver please check. @gone @agent  "},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["author"] == "agent" and body["ticket"] == ticket.pk
    assert body["body"] == "Customer called; @approver please check. @gone @agent"
    note = TicketNote.objects.get(pk=body["id"])
    assert note.author == agent
    # As on the dashboard: active staff only, never the author.
    notified = Notification.objects.filter(note=note)
    assert [n.recipient for n in notified] == [approver]
    assert not Notification.objects.filter(recipient=inactive).exists()
    event = AuditEvent.objects.get(ticket=ticket, action="note_added")
    assert event.actor == agent
    assert event.detail == {"note": note.pk, "mentioned": ["approver"]}


def test_notes_list_oldest_first(agent_api, agent, approver):
    ticket = TicketFactory()
    other = TicketFactory()
    url = f"/api/v1/tickets/{ticket.pk}/notes/"
    for text in ("first", "second"):
        assert agent_api.post(url, {"body": text}, format="json").status_code == 201
    client_for(approver)[0].post(
        f"/api/v1/tickets/{other.pk}/notes/", {"body": "elsewhere"}, format="json"
    )
    rows = agent_api.get(url).json()
    assert [(r["body"], r["author"]) for r in rows] == [
        ("first", "agent"),
        ("second", "agent"),
    ]
    assert agent_api.get("/api/v1/tickets/999999/notes/").status_code == 404


def test_a_bad_note_is_a_400_and_nothing_is_written(agent_api):
    ticket = TicketFactory()
    url = f"/api/v1/tickets/{ticket.pk}/notes/"
    for bad in ({"body": "   "}, {}, {"body": "x" * 10_001}, {"body": "a\x00b"}):
        response = agent_api.post(url, bad, format="json")
        assert response.status_code == 400, (bad, response.content)
        assert "body" in response.json()
    missing = agent_api.post(
        "/api/v1/tickets/999999/notes/", {"body": "hi"}, format="json"
    )
    assert missing.status_code == 404
    assert not TicketNote.objects.exists()
    assert not AuditEvent.objects.filter(action="note_added").exists()


def test_notes_need_their_own_permissions(roles):
    ticket = TicketFactory()
    url = f"/api/v1/tickets/{ticket.pk}/notes/"
    # Tickets, but not notes.
    ticket_reader, _ = client_for(_reader("view_ticket", "change_ticket"))
    assert ticket_reader.get(url).status_code == 403
    assert ticket_reader.post(url, {"body": "hi"}, format="json").status_code == 403
    # Reads notes, may not write one.
    note_reader, _ = client_for(_reader("view_ticket", "view_ticketnote"))
    assert note_reader.get(url).status_code == 200
    assert note_reader.post(url, {"body": "hi"}, format="json").status_code == 403
    assert not TicketNote.objects.exists()


def test_messages_list_filters_and_cursor_pages_without_raw_mime(agent_api):
    ticket = TicketFactory()
    marker = "X-Secret-Header-Only-In-Raw"
    messages = [
        MessageFactory(ticket=ticket, raw=f"{marker}: {i}\r\n\r\nbody".encode())
        for i in range(5)
    ]
    Message.objects.filter(pk=messages[0].pk).update(
        received_at=timezone.now() - timedelta(days=2),
        triage_status=Message.TriageStatus.TRIAGED,
    )
    elsewhere = MessageFactory()

    seen, url = [], f"/api/v1/messages/?ticket={ticket.pk}&page_size=2"
    while url:
        response = agent_api.get(url)
        assert marker not in response.content.decode()
        page = response.json()
        for row in page["results"]:
            assert "raw" not in row and "html_body" not in row
            assert row["ticket"] == ticket.pk
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    # Newest first; the one received two days ago comes last.
    assert seen[-1] == messages[0].pk
    assert sorted(seen) == sorted(m.pk for m in messages)

    everything = agent_api.get("/api/v1/messages/").json()["results"]
    assert elsewhere.pk in {row["id"] for row in everything}
    since = (timezone.now() - timedelta(days=1)).isoformat()
    recent = agent_api.get(
        "/api/v1/messages/", {"ticket": ticket.pk, "received_after": since}
    ).json()["results"]
    assert {row["id"] for row in recent} == {m.pk for m in messages[1:]}
    triaged = agent_api.get("/api/v1/messages/", {"triage_status": "triaged"})
    assert [row["id"] for row in triaged.json()["results"]] == [messages[0].pk]
    for bad in (
        {"ticket": "abc"},
        {"direction": "sideways"},
        {"received_after": "yesterday"},
    ):
        assert agent_api.get("/api/v1/messages/", bad).status_code == 400, bad


def test_a_tickets_messages(agent_api):
    ticket = TicketFactory()
    mine = [MessageFactory(ticket=ticket) for _ in range(3)]
    MessageFactory()
    url = f"/api/v1/tickets/{ticket.pk}/messages/"
    rows = agent_api.get(url).json()["results"]
    assert sorted(row["id"] for row in rows) == sorted(m.pk for m in mine)
    assert rows[0]["analyses"] == []
    # The path names the ticket: a `ticket` parameter does not widen it.
    other = agent_api.get(url, {"ticket": mine[0].pk + 1000}).json()["results"]
    assert len(other) == 3
    outbound = agent_api.get(url, {"direction": "outbound"}).json()["results"]
    assert outbound == []
    assert agent_api.get("/api/v1/tickets/999999/messages/").status_code == 404


def test_messages_need_a_role(db):
    client, _ = client_for(UserFactory())
    assert client.get("/api/v1/messages/").status_code == 403
