"""Issue 15 items 7 and 8 in headless Chromium against a live server.

From an agent's seat: the list's SLA filter shows only the breached tickets,
each with its due marker, and the team overview shows the SLA block. From an
approver's seat: a new ticket's automatic receipt, received by a real SMTP
server, is in the ticket's conversation.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import REPO
from tests.e2e.test_dashboard_browser import login, watch
from tests.factories import TicketFactory, make_eml
from triage.models import AutoAck, Ticket
from triage.services import email_ingest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = REPO / "artifacts"


def test_agent_filters_breached_tickets_and_sees_the_sla_overview(
    browser, live_server, users, settings
):
    settings.TRIAGE_OVERVIEW_CACHE_SECONDS = 0
    settings.TRIAGE_SLA_AT_RISK_HOURS = 2
    now = timezone.now()
    late = TicketFactory(
        subject="Refund overdue",
        due_at=now - timedelta(hours=3),
        first_response_due_at=now - timedelta(hours=3),
        created_at=now - timedelta(hours=12),
        assigned_to=users["agent"],
    )
    TicketFactory(
        subject="Due shortly",
        due_at=now + timedelta(minutes=40),
        first_response_due_at=now + timedelta(minutes=40),
    )
    TicketFactory(
        subject="Plenty of time",
        due_at=now + timedelta(days=3),
        first_response_due_at=now + timedelta(days=3),
    )
    answered = now - timedelta(hours=30)
    TicketFactory(
        subject="Answered in time",
        created_at=answered,
        first_response_at=answered + timedelta(hours=2),
        first_response_due_at=answered + timedelta(hours=8),
        status=Ticket.Status.WAITING,
        assigned_to=users["agent"],
    )
    ARTIFACTS.mkdir(exist_ok=True)

    page = login(browser, live_server, "agent")
    seen = watch(page)
    page.goto(f"{live_server.url}/admin/triage/ticket/")
    # Every ticket with a running clock has its marker in the list.
    assert page.locator("[data-sla]").count() == 3
    page.locator("#changelist-filter").get_by_role("link", name="Breached").click()
    page.wait_for_url("**sla=breached**")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "Refund overdue" in rows.first.inner_text()
    marker = rows.first.locator("[data-sla]")
    assert marker.get_attribute("data-sla") == "breached"
    assert "Breached · 3 h over" in marker.inner_text()
    page.screenshot(path=str(ARTIFACTS / "list-sla-breached.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/triage/overview/")
    block = page.locator("#sla")
    assert "50 %" in block.locator("#sla-hit-rate").inner_text()  # 1 met, 1 missed
    assert "2.0 h" in block.locator("#sla-median").inner_text()
    assert "1 breached" in block.locator("#sla-now").inner_text()
    assert "1 at risk" in block.locator("#sla-now").inner_text()
    load = block.locator("#sla-load tbody tr").first.inner_text()
    assert load.split() == ["agent", "2", "1"]
    # The block's link leads back to the same filtered list.
    block.get_by_role("link", name="1 breached").click()
    page.wait_for_url("**sla=breached**")
    assert page.locator("#result_list tbody tr").count() == 1
    assert seen == {"dialogs": [], "csp": []}
    page.context.close()
    assert Ticket.objects.get(pk=late.pk).due_at < now


def test_approver_sees_the_receipt_in_the_conversation(
    browser, live_server, users, smtp_server, settings, eager_tasks
):
    settings.TRIAGE_MODELS = {}
    settings.TRIAGE_AUTOACK = True
    message = email_ingest(
        make_eml(sender="Kim <kim@example.com>", message_id="<kim-1@example.com>"),
        source="e2e",
    ).message
    auto = email_ingest(
        make_eml(
            sender="Bot <bot@example.com>",
            message_id="<bot-1@example.com>",
            subject="Out of office",
        ).replace(b"Subject:", b"Auto-Submitted: auto-replied\nSubject:", 1),
        source="e2e",
    ).message
    assert [r.rcpt_tos for r in smtp_server.received] == [["kim@example.com"]]
    ack = AutoAck.objects.get()
    assert ack.ticket_id == message.ticket_id

    page = login(browser, live_server, "approver")
    seen = watch(page)
    page.goto(f"{live_server.url}/admin/triage/ticket/{message.ticket_id}/change/")
    assert page.get_by_text("This is an automatic receipt.").count() == 1
    page.goto(f"{live_server.url}/admin/triage/ticket/{auto.ticket_id}/change/")
    assert page.get_by_text("This is an automatic receipt.").count() == 0
    assert seen == {"dialogs": [], "csp": []}
    page.context.close()
