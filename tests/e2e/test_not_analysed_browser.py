"""A German complaint through the real offline pipeline, then in Chromium.

The German sample is ingested and triaged in-process (eager tasks) with the offline
profile's settings: lingua detects German, apertium has no German pair, and every
step that reads text records "not analysed" (none of their models loads). The list
and the ticket page must say so plainly; screenshots go to artifacts/.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_dashboard_browser import ARTIFACTS, login
from triage.model_profiles import resolve_models
from triage.models import Analysis, Ticket
from triage.services import email_ingest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def german(sample_bytes, settings, eager_tasks, tmp_path) -> Ticket:
    pytest.importorskip("lingua")
    settings.TRIAGE_MODELS = resolve_models(
        "offline", tiny_dir=tmp_path / "tiny", heads_dir=tmp_path / "heads"
    )
    settings.TRIAGE_NOT_ANALYSED = {"priority": "high", "assignees": {}}
    message = email_ingest(
        sample_bytes("02-german-complaint.eml"), source="e2e"
    ).message
    ticket = Ticket.objects.get(pk=message.ticket_id)
    # The real pipeline ran: language from lingua, the rest not analysed.
    assert ticket.language == "de"
    assert ticket.not_analysed.startswith("no model reads German here")
    sentiment = Analysis.objects.get(message=message, step="sentiment")
    assert sentiment.not_analysed and sentiment.result is None
    return ticket


def test_the_german_ticket_says_not_analysed(browser, live_server, users, german):
    ARTIFACTS.mkdir(exist_ok=True)
    page = login(browser, live_server, "agent")
    page.goto(f"{live_server.url}/admin/triage/ticket/")
    row = page.locator("#result_list tbody tr").first
    assert "not analysed" in row.inner_text()
    assert (
        row.locator(".tr-not-analysed")
        .get_attribute("title")
        .startswith("no model reads German here")
    )
    assert "High" in row.inner_text()  # the routing's priority, not a model's
    page.screenshot(path=str(ARTIFACTS / "not-analysed-list.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/triage/ticket/{german.pk}/change/")
    banner = page.locator("#not-analysed")
    assert banner.is_visible()
    text = banner.inner_text()
    assert "German — not analysed" in text
    assert "install a de→en translation model" in text
    glance = page.locator(".tr-glance").inner_text()
    assert "not analysed" in glance
    assert "NEUTRAL" not in glance and "NEGATIVE" not in glance
    # No English model's entity list for German text.
    assert page.locator(".triage-entities").count() == 0
    page.screenshot(path=str(ARTIFACTS / "not-analysed-ticket.png"), full_page=True)
