"""The team leads' overview: the numbers (selectors) and the page (SVG + tables)."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations import RunSQL
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    MessageFactory,
    ReplyDraftFactory,
    TicketFactory,
    UserFactory,
)
from triage import selectors
from triage.charts import nice_max
from triage.models import ReplyDraft, Ticket
from triage.services import reply_create, roles_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def tickets(now):
    def ticket(hours_ago: float, **fields) -> Ticket:
        return TicketFactory(created_at=now - timedelta(hours=hours_ago), **fields)

    return {
        "neg_today": ticket(0.5, sentiment_label="NEGATIVE", intent="refund"),
        "neg_corrected": ticket(
            1, sentiment_label="NEGATIVE", agent_sentiment="POSITIVE", intent="refund"
        ),
        "pos_today": ticket(2, sentiment_label="POSITIVE", intent="damaged"),
        "unlabelled": ticket(30, priority=Ticket.Priority.URGENT),
        "old_high": ticket(100, priority=Ticket.Priority.HIGH, intent="refund"),
        "closed": ticket(
            5, status=Ticket.Status.CLOSED, priority=Ticket.Priority.URGENT
        ),
    }


def test_tickets_per_day_by_shown_sentiment(tickets):
    data = selectors.overview_tickets_per_day(days=14)
    assert data["series"] == ["NEGATIVE", "POSITIVE", "UNKNOWN"]
    assert len(data["rows"]) == 14
    assert data["rows"][-1]["day"] == timezone.localdate()
    totals = [sum(column) for column in zip(*(r["counts"] for r in data["rows"]))]
    # The agent's correction wins over the model's label.
    assert dict(zip(data["series"], totals, strict=True)) == {
        "NEGATIVE": 1,
        "POSITIVE": 2,
        "UNKNOWN": 3,
    }
    assert sum(row["total"] for row in data["rows"]) == 6


def test_intent_mix(tickets):
    mix = {row["intent"]: row["count"] for row in selectors.overview_intent_mix()}
    assert mix == {"refund": 3, "damaged": 1, "(not classified)": 2}
    shares = [row["share"] for row in selectors.overview_intent_mix()]
    assert sum(shares) == pytest.approx(1.0)


def test_open_tickets_by_priority_and_age(tickets):
    data = selectors.overview_open_by_priority_age()
    assert data["buckets"] == ["< 4 h", "4-24 h", "1-3 days", "> 3 days"]
    rows = {row["priority"]: row["counts"] for row in data["rows"]}
    assert rows[Ticket.Priority.URGENT] == [0, 0, 1, 0]  # the closed one is not open
    assert rows[Ticket.Priority.HIGH] == [0, 0, 0, 1]
    assert rows[Ticket.Priority.NORMAL] == [3, 0, 0, 0]
    assert rows[Ticket.Priority.LOW] == [0, 0, 0, 0]


def test_median_time_from_arrival_to_approved_reply(now):
    for hours in (2, 4, 9):
        message = MessageFactory(received_at=now - timedelta(hours=hours + 1))
        ReplyDraftFactory(
            in_reply_to_message=message,
            status=ReplyDraft.Status.SENT,
            approved_at=now - timedelta(hours=1),
        )
    ReplyDraftFactory()  # never approved: not counted
    data = selectors.overview_time_to_approval(days=30)
    assert data["count"] == 3
    assert data["median"] == pytest.approx(4.0, abs=0.01)
    assert sum(row["count"] for row in data["rows"]) == 3


def test_a_draft_keeps_when_its_mail_arrived(now):
    """The chart reads the arrival from the draft (one index): every way a draft
    is made stores it, and the migration's backfill fills the old ones."""
    message = MessageFactory(received_at=now - timedelta(hours=5))
    assert ReplyDraftFactory(in_reply_to_message=message).arrived_at == (
        message.received_at
    )
    agent = UserFactory(groups=[roles_sync()["Agents"]])
    own = reply_create(ticket_id=message.ticket_id, user=agent, text="Hello there")
    assert own.arrived_at == message.received_at

    ReplyDraft.objects.filter(pk=own.pk).update(arrived_at=None)
    migration = importlib.import_module("triage.migrations.0014_i19_overview_indexes")
    (backfill,) = [
        op for op in migration.Migration.operations if isinstance(op, RunSQL)
    ]
    with connection.cursor() as cursor:
        cursor.execute(backfill.sql)
    own.refresh_from_db()
    assert own.arrived_at == message.received_at


def test_nice_max():
    assert [nice_max(v) for v in (0, 0.3, 1, 3, 7, 12, 51)] == [
        1,
        0.5,
        1,
        5,
        10,
        20,
        100,
    ]


def test_overview_page_draws_charts_with_their_numbers(admin_client, tickets):
    response = admin_client.get(reverse("triage_overview"))
    assert response.status_code == 200
    page = response.content.decode()
    for chart in ("chart-per-day", "chart-intents", "chart-backlog", "chart-approval"):
        assert f'id="{chart}"' in page
    assert page.count("<svg") >= 3 and "<rect" in page
    assert "<script" not in page.split("</header>")[-1]  # no chart library
    backlog = page[page.index('id="chart-backlog"') : page.index('id="chart-approval"')]
    assert "<td>Urgent</td>" in backlog and "<title>Urgent: 1 1-3 days old</title>" in (
        backlog
    )
    assert "<td>refund</td>" in page
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_overview_needs_a_role(client):
    url = reverse("triage_overview")
    assert client.get(url).status_code == 302  # to the login page
    nobody = UserFactory(username="staff-without-role")
    client.force_login(nobody)
    assert client.get(url).status_code == 403
    agent = UserFactory(username="agent", groups=[roles_sync()["Agents"]])
    client.force_login(agent)
    assert client.get(url).status_code == 200
