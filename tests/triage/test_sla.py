"""SLA policies (issue 15 item 8): due dates from the policy in business hours,
priority changes, the first response, the list's filters and the overview's
figures (PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.ci import NO_POSTGRES, need
from tests.factories import ReplyDraftFactory, TicketFactory, UserFactory, make_eml
from tests.smtp import SmtpCapture
from triage.business_hours import BusinessHours, business_add
from triage.models import SlaPolicy, Ticket
from triage.selectors.sla import sla_filter, sla_overview, sla_state
from triage.services import email_ingest, roles_sync, ticket_update
from triage.services.macros import macro_apply, macro_save
from triage.services.reply_approval import reply_approve, reply_version
from triage.services.sla import sla_apply

pytestmark = pytest.mark.django_db

FRIDAY_EVENING = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def office(settings):
    settings.TRIAGE_MODELS = {}
    settings.TRIAGE_BUSINESS_DAYS = [0, 1, 2, 3, 4]
    settings.TRIAGE_BUSINESS_START_HOUR = 9
    settings.TRIAGE_BUSINESS_END_HOUR = 17
    settings.TRIAGE_BUSINESS_TIMEZONE = "UTC"
    settings.TRIAGE_SLA_AT_RISK_HOURS = 2
    return BusinessHours(
        days={0, 1, 2, 3, 4}, start_hour=9, end_hour=17, timezone="UTC"
    )


@pytest.fixture
def roles():
    return roles_sync()


def test_the_migration_writes_default_policies():
    policies = {p.priority: p for p in SlaPolicy.objects.all()}
    assert set(policies) == set(Ticket.Priority.values)
    assert policies[Ticket.Priority.URGENT].around_the_clock
    assert policies[Ticket.Priority.NORMAL].first_response_hours == 8


def test_a_friday_evening_ticket_is_due_on_monday():
    ticket = Ticket(created_at=FRIDAY_EVENING, priority=Ticket.Priority.NORMAL)
    assert sla_apply(ticket) == ["first_response_due_at", "due_at"]
    # 8 business hours: none on Friday evening or the weekend, all of Monday.
    monday_close = datetime(2026, 11, 30, 17, tzinfo=UTC)
    assert ticket.due_at == ticket.first_response_due_at == monday_close

    ticket.priority = Ticket.Priority.URGENT  # around the clock: 1 hour
    sla_apply(ticket)
    assert ticket.due_at == FRIDAY_EVENING + timedelta(hours=1)

    ticket.priority = Ticket.Priority.HIGH  # 4 h: Monday 13:00
    sla_apply(ticket)
    assert ticket.due_at == datetime(2026, 11, 30, 13, tzinfo=UTC)


def test_an_edited_policy_applies_and_a_weekend_workday_counts(settings):
    SlaPolicy.objects.filter(priority=Ticket.Priority.LOW).update(
        first_response_hours=2.5
    )
    settings.TRIAGE_BUSINESS_DAYS = [5]  # Saturdays only
    ticket = Ticket(created_at=FRIDAY_EVENING, priority=Ticket.Priority.LOW)
    sla_apply(ticket)
    assert ticket.due_at == datetime(2026, 11, 28, 11, 30, tzinfo=UTC)


def test_ingest_sets_the_default_priority_target(office):
    message = email_ingest(make_eml(), source="t").message
    ticket = Ticket.objects.get(pk=message.ticket_id)
    assert ticket.priority == Ticket.Priority.NORMAL
    assert ticket.due_at == business_add(ticket.created_at, 8, office)
    assert ticket.first_response_due_at == ticket.due_at


def test_a_priority_change_moves_the_due_date_unless_one_was_typed(roles):
    agent = UserFactory(groups=[roles["Agents"]])
    ticket = TicketFactory(created_at=FRIDAY_EVENING)
    ticket.priority = Ticket.Priority.URGENT
    ticket_update(ticket=ticket, user=agent, fields=["priority"])
    ticket.refresh_from_db()
    assert ticket.due_at == FRIDAY_EVENING + timedelta(hours=1)

    typed = datetime(2026, 12, 24, 12, tzinfo=UTC)
    ticket.priority = Ticket.Priority.LOW
    ticket.due_at = typed
    ticket_update(ticket=ticket, user=agent, fields=["priority", "due_at"])
    ticket.refresh_from_db()
    assert ticket.due_at == typed


def test_a_macro_that_sets_the_priority_moves_the_due_date(roles):
    from triage.models import Macro

    lead = UserFactory(groups=[roles["Team leads"]])
    agent = UserFactory(groups=[roles["Agents"]])
    ticket = TicketFactory(created_at=FRIDAY_EVENING)
    macro = macro_save(
        macro=Macro(name="Escalate", body="On it.", set_priority=1), user=lead
    )
    macro_apply(ticket_id=ticket.pk, macro_id=macro.pk, user=agent)
    ticket.refresh_from_db()
    assert ticket.due_at == FRIDAY_EVENING + timedelta(hours=1)


def test_the_first_reply_sent_records_the_first_response(
    roles, settings, django_capture_on_commit_callbacks
):
    approver = UserFactory(groups=[roles["Approvers"]])
    message = email_ingest(make_eml(), source="t").message
    ticket = Ticket.objects.get(pk=message.ticket_id)
    first_due = ticket.first_response_due_at
    draft = ReplyDraftFactory(in_reply_to_message=message, ticket=ticket)
    with SmtpCapture() as smtp:
        smtp.configure(settings)
        with django_capture_on_commit_callbacks(execute=True):
            reply_approve(
                draft_id=draft.pk, user=approver, version=reply_version(draft)
            )
        assert len(smtp.received) == 1
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert ticket.first_response_due_at == first_due
    # Now due by the resolution target (40 business hours for normal).
    assert ticket.due_at == business_add(
        ticket.created_at, 40, BusinessHours.from_settings()
    )


def test_breached_at_risk_and_on_track(roles, client):
    now = timezone.now()
    late = TicketFactory(subject="Late one", due_at=now - timedelta(hours=1))
    soon = TicketFactory(subject="Soon one", due_at=now + timedelta(minutes=30))
    fine = TicketFactory(subject="Fine one", due_at=now + timedelta(days=2))
    TicketFactory(
        subject="Waiting one",
        due_at=now - timedelta(hours=3),
        status=Ticket.Status.WAITING,
    )
    TicketFactory(
        subject="Closed one", due_at=now - timedelta(hours=3), status="closed"
    )
    TicketFactory(subject="No target", due_at=None)
    tickets = Ticket.objects.all()
    assert list(sla_filter(tickets, "breached")) == [late]
    assert list(sla_filter(tickets, "at_risk")) == [soon]
    assert list(sla_filter(tickets, "on_track")) == [fine]
    assert [sla_state(t) for t in (late, soon, fine)] == [
        "breached",
        "at_risk",
        "on_track",
    ]

    client.force_login(UserFactory(groups=[roles["Agents"]]))
    page = client.get(reverse("admin:triage_ticket_changelist") + "?sla=breached")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Late one" in html and "Soon one" not in html and "Fine one" not in html
    assert 'data-sla="breached"' in html
    page = client.get(reverse("admin:triage_ticket_changelist") + "?sla=at_risk")
    assert "Soon one" in page.content.decode()
    assert "Late one" not in page.content.decode()


def test_overview_figures_on_postgresql(roles, client):
    need(connection.vendor == "postgresql", NO_POSTGRES)
    now = timezone.now()
    ada = UserFactory(username="ada", groups=[roles["Agents"]])
    bob = UserFactory(username="bob", groups=[roles["Agents"]])

    def answered(created_hours_ago: float, response_hours: float, due_hours: float):
        created = now - timedelta(hours=created_hours_ago)
        return TicketFactory(
            created_at=created,
            first_response_at=created + timedelta(hours=response_hours),
            first_response_due_at=created + timedelta(hours=due_hours),
            status=Ticket.Status.WAITING,
            assigned_to=ada,
        )

    answered(50, 1, 4)  # met
    answered(40, 2, 4)  # met
    answered(30, 6, 4)  # missed
    # Not answered, past due: missed (and breached now, Bob's).
    TicketFactory(
        created_at=now - timedelta(hours=10),
        first_response_due_at=now - timedelta(hours=2),
        due_at=now - timedelta(hours=2),
        assigned_to=bob,
    )
    # Not answered, not yet due: undecided (at risk now, unassigned).
    TicketFactory(
        first_response_due_at=now + timedelta(hours=1),
        due_at=now + timedelta(hours=1),
    )
    # Out of the window, and spam: neither counts.
    answered(24 * 40, 100, 4)
    TicketFactory(
        is_spam=True,
        status="closed",
        first_response_due_at=now - timedelta(hours=5),
        due_at=now - timedelta(hours=5),
    )

    figures = sla_overview(days=30, now=now)
    assert (figures["met"], figures["missed"]) == (2, 2)
    assert figures["hit_rate"] == 0.5
    assert figures["median_hours"] == pytest.approx(2.0)  # of 1, 2, 6 hours
    assert (figures["breached_now"], figures["at_risk_now"]) == (1, 1)
    assert figures["load"] == [
        {"agent": "ada", "open": 4, "breached": 0},
        {"agent": "bob", "open": 1, "breached": 1},
        {"agent": "", "open": 1, "breached": 0},  # unassigned last
    ]

    client.force_login(ada)
    html = client.get(reverse("triage_overview")).content.decode()
    assert 'id="sla"' in html
    assert "50 %" in html and "2.0 h" in html


def test_team_leads_manage_the_policies_agents_do_not(client):
    from django.contrib.auth.models import Group

    # The migration granted it (a database that was never roles_sync'ed).
    migrated = Group.objects.get(name="Team leads").permissions
    assert migrated.filter(codename="change_slapolicy").exists()
    roles = roles_sync()
    lead = UserFactory(groups=[roles["Team leads"]])
    agent = UserFactory(groups=[roles["Agents"]])
    policy = SlaPolicy.objects.get(priority=Ticket.Priority.HIGH)
    url = reverse("admin:triage_slapolicy_change", args=[policy.pk])
    form = {
        "priority": Ticket.Priority.HIGH,
        "first_response_hours": "2",
        "resolution_hours": "16",
    }

    client.force_login(agent)
    assert client.get(url).status_code == 403
    assert client.post(url, form).status_code == 403
    client.force_login(lead)
    assert client.get(url).status_code == 200
    assert client.post(url, form).status_code == 302
    policy.refresh_from_db()
    assert (policy.first_response_hours, policy.resolution_hours) == (2, 16)
    ticket = Ticket(created_at=FRIDAY_EVENING, priority=Ticket.Priority.HIGH)
    sla_apply(ticket)
    assert ticket.due_at == datetime(2026, 11, 30, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRIAGE_BUSINESS_TIMEZONE", "Mars/Olympus_Mons"),
        ("TRIAGE_BUSINESS_DAYS", "mon,funday"),
        ("TRIAGE_BUSINESS_START_HOUR", "25"),
    ],
)
def test_a_bad_business_hours_setting_is_refused_at_start(name, value):
    from tests.triage.test_settings import PROD, _manage_clean

    env = {**PROD, "DATABASE_URL": "postgres://u@127.0.0.1:5432/x", name: value}
    result = _manage_clean("check", **env)
    assert result.returncode != 0
    assert f'Environment variable "{name}" invalid' in result.stderr


def test_business_hours_must_end_after_they_start():
    from tests.triage.test_settings import PROD, _manage_clean

    env = {
        **PROD,
        "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
        "TRIAGE_BUSINESS_START_HOUR": "17",
        "TRIAGE_BUSINESS_END_HOUR": "9",
    }
    result = _manage_clean("check", **env)
    assert result.returncode != 0
    assert "TRIAGE_BUSINESS_END_HOUR must be later" in result.stderr
