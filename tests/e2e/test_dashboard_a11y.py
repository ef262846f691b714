"""The dashboard for every agent, checked in headless Chromium (Playwright).

- axe-core (the npm package the Makefile installs into var/node; never a CDN) on
  the login page, the ticket list, a ticket with two drafts and the overview, in
  the light and the dark theme: no serious or critical violation, except the
  stock Django admin ones listed in STOCK_ADMIN with the reason each is there.
- The review done with the keyboard alone, from the list to an approved draft,
  within a fixed number of Tab presses, each stop showing a focus indicator.
- Highlights that do not rely on colour: per-type underline styles, type words
  that reach the accessibility tree (Chromium's own, read over CDP), both names
  where the answer overlaps an entity, and a forced-colours rendering.
- Phone and desktop widths: the layout collapses, nothing overflows sideways,
  and screenshots in both themes land in artifacts/a11y/.

The analyses are the FIXTURE DATA of test_dashboard_browser.py (DESIGN §1),
not output of a model run by these tests.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from tests.conftest import REPO
from tests.e2e.test_dashboard_browser import (
    BUMBLEBEE_RESULTS,
    PASSWORD,
    fixture_outcome,
    ingest_without_triage,
)
from tests.factories import ReplyDraftFactory, UserFactory, make_eml
from triage.models import ReplyDraft, Ticket
from triage.services import analysis_save, roles_sync

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE_JS = REPO / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = REPO / "artifacts" / "a11y"
WIDE, PHONE = 1400, 390
THEMES = ("light", "dark")

# Stock Django admin markup that axe flags, by rule and the element it names.
# Each is outside the project's templates and CSS; the reason says why it stays.
STOCK_ADMIN: list[tuple[str, str, str]] = []

# Tab presses the keyboard path may take; a new stop before the target fails
# the test (raise a budget only for a stop that is worth its press).
LIST_TABS = 0
TICKET_TABS = 0


@pytest.fixture(scope="module")
def axe_script() -> str:
    if not AXE_JS.exists():
        message = f"{AXE_JS} missing: `make axe` installs axe-core from npm"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return AXE_JS.read_text()


@pytest.fixture
def desk(transactional_db, sample_bytes, settings, eager_tasks) -> dict[str, Any]:
    """Two tickets (one closed and low), the first with two open drafts."""
    groups = roles_sync()
    UserFactory(username="agent", groups=[groups["Agents"]])
    UserFactory(username="approver", groups=[groups["Approvers"]])
    message = ingest_without_triage(sample_bytes("01-bumblebee.eml"), settings)
    analysis_save(message_id=message.pk, results=BUMBLEBEE_RESULTS)
    # The fixture analysis drafted one reply; an agent wrote a second one.
    older = ReplyDraft.objects.get(ticket=message.ticket)
    newer = ReplyDraftFactory(
        in_reply_to_message=message,
        created_by=ReplyDraft.Author.AGENT,
        text="Dear Bumblebee, please send Megatron back; we refund you.",
    )
    thanks = ingest_without_triage(
        make_eml(
            body="Dear Amazon, the figure arrived and it is perfect. Thank you!",
            subject="Thank you",
            sender="Ratchet <ratchet@autobots.example.com>",
            message_id="<thanks-1@autobots.example.com>",
        ),
        settings,
    )
    analysis_save(
        message_id=thanks.pk,
        results={
            "sentiment": fixture_outcome(
                {"label": "POSITIVE", "score": 0.9998}, model="fixture:sst2"
            )
        },
    )
    Ticket.objects.filter(pk=thanks.ticket_id).update(
        status=Ticket.Status.CLOSED, priority=Ticket.Priority.LOW
    )
    return {"ticket": message.ticket, "drafts": [newer, older], "closed": thanks.ticket}


def open_page(browser, live_server, *, theme: str, width: int, user: str | None):
    """A fresh context in `theme` (the operating system's setting) at `width`."""
    context = browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme=theme
    )
    page = context.new_page()
    if user:
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(re.compile(r".*/admin/(triage/ticket/)?$"))
    return page


def axe_violations(page, axe_script: str) -> list[dict[str, Any]]:
    """Serious and critical axe violations on the page, one entry per node."""
    # Evaluated over the DevTools protocol, which the page's CSP does not govern:
    # the pages keep their real policy (no inline script) while axe runs.
    page.evaluate(axe_script)
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.flatMap(v => v.nodes.map(n => ({
                rule: v.id, impact: n.impact || v.impact, help: v.help,
                target: n.target.join(" "), html: n.html.slice(0, 200),
                summary: n.failureSummary,
            })));
        }"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def not_stock(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        v
        for v in violations
        if not any(
            v["rule"] == rule and re.search(target, v["target"])
            for rule, target, _ in STOCK_ADMIN
        )
    ]


def ticket_url(live_server, ticket) -> str:
    return f"{live_server.url}/admin/triage/ticket/{ticket.pk}/change/"


@pytest.mark.parametrize("theme", THEMES)
def test_axe_finds_no_serious_violation(browser, live_server, desk, axe_script, theme):
    pages = {
        "login": (None, "/admin/login/"),
        "list": ("approver", "/admin/triage/ticket/"),
        "ticket": ("approver", ticket_url(live_server, desk["ticket"])),
        "overview": ("approver", "/admin/triage/overview/"),
    }
    problems: list[str] = []
    for name, (user, url) in pages.items():
        page = open_page(browser, live_server, theme=theme, width=WIDE, user=user)
        page.goto(url if url.startswith("http") else live_server.url + url)
        # The theme really is in force: the admin's own page colour follows it.
        dark = page.evaluate(
            "() => getComputedStyle(document.documentElement).colorScheme"
        )
        assert dark == theme
        problems += [
            f"{name}: {v['rule']} ({v['impact']}) at {v['target']}: {v['html']}"
            for v in not_stock(axe_violations(page, axe_script))
        ]
        page.context.close()
    assert not problems, "\n".join(problems)
