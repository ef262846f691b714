"""Screenshots of the demo's main pages after `sample_data` (issue 15), saved to
artifacts/screenshots/ (gitignored) for review — and each page checked for what
it must show, so a broken page cannot pass as a picture of an error."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from tests.conftest import REPO
from tests.e2e.test_dashboard_browser import login, watch
from tests.factories import UserFactory
from triage.models import Ticket
from triage.services import roles_sync

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = REPO / "artifacts" / "screenshots"


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_screenshots_of_list_ticket_customer_and_overview(
    browser, live_server, settings, eager_tasks
):
    settings.TRIAGE_MODELS = {}  # sample_data's labels are fixtures
    settings.TRIAGE_OVERVIEW_CACHE_SECONDS = 0
    call_command("sample_data", stdout=StringIO())
    UserFactory(username="lead", groups=[roles_sync()["Team leads"]])
    page = login(browser, live_server, "lead")
    seen = watch(page)

    page.goto(f"{live_server.url}/admin/triage/ticket/")
    rows = page.locator("#result_list tbody tr")
    open_tickets = Ticket.objects.filter(is_spam=False).count()
    assert rows.count() == open_tickets >= 30
    listing = page.locator("#result_list").inner_text()
    assert "Still no parcel!!!" in listing and "Colis endommagé" in listing
    assert "You have WON" not in listing  # spam is hidden from the queue
    assert page.locator(".tr-customer-count", has_text="4 tickets").count() >= 1
    shoot(page, "ticket-list")

    maria = Ticket.objects.get(subject="Bestellung 4471 noch nicht da")
    page.goto(f"{live_server.url}/admin/triage/ticket/{maria.pk}/change/")
    assert "waiting ten days" in page.locator(".triage-translation").inner_text()
    assert "Courier confirms" in page.locator("#notes").inner_text()
    history = page.locator("#customer-history li")
    assert history.count() == 2
    assert "sample-data" in page.locator(".tr-models").inner_text()
    shoot(page, "ticket")

    page.goto(
        f"{live_server.url}/admin/triage/ticket/customer/?email=sam.lee@example.com"
    )
    assert page.locator("#customer-ticket-count").inner_text() == "4 tickets"
    customer = page.locator("#customer-tickets").inner_text()
    assert "Refund for order 9012" in customer and "Great support" in customer
    shoot(page, "customer")

    page.goto(f"{live_server.url}/admin/triage/overview/")
    assert "late delivery" in page.locator("#chart-intents").inner_text()
    assert page.locator("#chart-per-day svg rect").count() > 3
    shoot(page, "overview")
    assert seen == {"dialogs": [], "csp": []}
    page.context.close()
