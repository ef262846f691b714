"""Issue 15 (what agents do all day) in headless Chromium against a live server.

One file for the agent-day features, kept to few page loads: internal notes
with an @mention that the colleague sees on their own list.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO
from tests.e2e.test_dashboard_browser import login, watch
from tests.factories import TicketFactory, UserFactory
from triage.models import AuditEvent, Message, Notification, TicketNote
from triage.services import roles_sync

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = REPO / "artifacts"


@pytest.fixture
def users(transactional_db):
    groups = roles_sync()
    return {
        "agent": UserFactory(username="agent", groups=[groups["Agents"]]),
        "approver": UserFactory(username="approver", groups=[groups["Approvers"]]),
    }


def test_internal_note_mentions_a_colleague_who_sees_it(browser, live_server, users):
    ticket = TicketFactory(subject="Parcel lost", customer_email="kim@example.com")
    ARTIFACTS.mkdir(exist_ok=True)

    page = login(browser, live_server, "agent")
    seen = watch(page)
    page.goto(f"{live_server.url}/admin/triage/ticket/{ticket.pk}/change/")
    page.fill("#note-body", "<b>Courier</b> says delivered. @approver please check")
    page.click("#note-add")
    page.wait_for_selector("text=Internal note added")
    note = page.locator(".tr-internal-note")
    assert note.count() == 1
    # Escaped, not rendered as markup; marked as internal.
    assert "<b>Courier</b> says delivered." in note.inner_text()
    assert note.locator("b").count() == 0
    assert "Internal note" in note.inner_text()
    assert "Internal note added" in page.locator("#activity").inner_text()
    # Styled distinctly from mail (dashed border), so nobody takes it for a reply.
    style = note.evaluate("n => getComputedStyle(n).borderTopStyle")
    assert style == "dashed"
    assert seen == {"dialogs": [], "csp": []}
    page.screenshot(path=str(ARTIFACTS / "ticket-note.png"), full_page=True)
    page.context.close()

    assert not Message.objects.filter(ticket=ticket).exists()  # never sent
    assert AuditEvent.objects.filter(ticket=ticket, action="note_added").count() == 1

    # The colleague sees the mention on their list, follows it, marks it read.
    page = login(browser, live_server, "approver")
    page.goto(f"{live_server.url}/admin/triage/ticket/")
    notice = page.locator(".tr-notification")
    assert notice.count() == 1
    assert "agent mentioned you on ticket" in notice.inner_text()
    notice.get_by_role("button", name="Mark read").click()
    page.wait_for_url(re.compile(r".*/admin/triage/ticket/$"))
    assert page.locator(".tr-notification").count() == 0
    assert Notification.objects.get().read_at is not None
    assert TicketNote.objects.get().author == users["agent"]
    page.context.close()
