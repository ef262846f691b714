"""Issue 15 item 10 in headless Chromium: keyboard shortcuts and live updates.

Two browser contexts are two agents on one live server. The page's numbers
change through the services (`analysis_save`, `reply_send`) while it is open;
the waits poll the page through tests/waiting.py (a liveness bound, not a
speed target). The CSP stays strict: every page is watched for violations.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_dashboard_browser import fixture_outcome, login, watch
from tests.factories import (
    MessageFactory,
    ReplyDraftFactory,
    TicketFactory,
    UserFactory,
)
from tests.waiting import wait_until
from triage.models import AuditEvent, ReplyDraft, Ticket
from triage.services import analysis_save, reply_send, roles_sync

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LIVENESS = 30  # seconds: only stops a test that would wait forever


@pytest.fixture
def agents(transactional_db, settings):
    from django.core.cache import cache

    cache.clear()
    settings.TRIAGE_LIVE_POLL_SECONDS = 0.3
    group = roles_sync()["Agents"]
    yield {
        "alice": UserFactory(username="alice", first_name="Alice", groups=[group]),
        "bob": UserFactory(username="bob", first_name="Bob", groups=[group]),
    }
    cache.clear()


def focused(page) -> dict:
    return page.evaluate(
        """() => { const e = document.activeElement; return {
            tag: e.tagName, id: e.id, name: e.name || '',
            current: e.getAttribute('aria-current'),
            outline: getComputedStyle(e).outlineStyle,
            text: (e.innerText || '').slice(0, 200) }; }"""
    )


def ticket_url(live_server, ticket) -> str:
    return f"{live_server.url}/admin/triage/ticket/{ticket.pk}/change/"


def test_list_j_k_enter_and_ticket_r_a_and_help(browser, live_server, agents):
    tickets = [
        TicketFactory(subject=f"Keyboard {n}", priority=Ticket.Priority.HIGH)
        for n in range(3)
    ]
    page = login(browser, live_server, "alice")
    seen = watch(page)
    page.goto(f"{live_server.url}/admin/triage/ticket/")
    # Typing in the search box is typing: no row moves.
    page.fill("#searchbar", "")
    page.focus("#searchbar")
    page.keyboard.press("j")
    assert page.input_value("#searchbar") == "j"
    assert page.locator("#result_list tr.tr-row-current").count() == 0
    page.fill("#searchbar", "")
    page.locator("#changelist-search").evaluate("f => f.blur && f.blur()")
    page.evaluate("() => document.activeElement.blur()")

    page.keyboard.press("j")
    first = focused(page)
    assert first["tag"] == "TR" and first["current"] == "true"
    assert first["outline"] == "solid"  # a visible focus, not colour alone
    assert "Keyboard" in first["text"]
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    second = focused(page)
    assert second["text"] != first["text"] and "Keyboard" in second["text"]
    assert page.locator("#result_list tr[aria-current=true]").count() == 1
    href = page.locator("#result_list tr.tr-row-current th a").get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(href) + "$"))
    opened = Ticket.objects.get(pk=int(href.rstrip("/").split("/")[-2]))
    assert opened in tickets and opened.subject in page.title()

    # ? shows the help, Escape closes it.
    page.keyboard.press("?")
    help_box = page.get_by_role("dialog", name="Keyboard shortcuts")
    assert help_box.is_visible()
    assert "assign the ticket to me" in help_box.inner_text()
    page.keyboard.press("Escape")
    assert not help_box.is_visible()

    # r: the reply box, without the "r" in it; typing "a" there is text, not a shortcut.
    page.keyboard.press("r")
    box = focused(page)
    assert (box["tag"], box["name"]) == ("TEXTAREA", "text")
    page.keyboard.type("a")
    assert page.input_value("#draft-new textarea[name=text]") == "a"
    assert Ticket.objects.get(pk=opened.pk).assigned_to is None

    # a (outside a field): assigned to me, through the service, audited.
    page.locator("#ticket-form-title").click()
    page.keyboard.press("a")
    page.wait_for_selector("text=Assigned to you.")
    assert Ticket.objects.get(pk=opened.pk).assigned_to == agents["alice"]
    event = AuditEvent.objects.get(ticket=opened, action="ticket_assigned")
    assert event.actor == agents["alice"]
    assert "assigned to alice" in page.locator(".tr-head").inner_text()
    assert page.locator("#assign-me").count() == 0  # already mine
    assert seen == {"dialogs": [], "csp": []}
    page.context.close()


def test_presence_and_the_double_reply_warning(browser, live_server, agents):
    ticket = TicketFactory(subject="Two agents, one customer")
    MessageFactory(ticket=ticket, triage_status="triaged")
    alice = login(browser, live_server, "alice")
    bob = login(browser, live_server, "bob")
    seen_alice, seen_bob = watch(alice), watch(bob)
    alice.goto(ticket_url(live_server, ticket))
    bob.goto(ticket_url(live_server, ticket))

    def presence(page) -> str:
        return page.locator("#tr-presence").inner_text()

    wait_until(
        lambda: presence(bob) == "Alice is viewing",
        timeout=LIVENESS,
        what="Bob sees Alice viewing",
        log=lambda: presence(bob),
    )
    wait_until(
        lambda: presence(alice) == "Bob is viewing",
        timeout=LIVENESS,
        what="Alice sees Bob viewing",
        log=lambda: presence(alice),
    )
    alice.fill("#draft-new textarea[name=text]", "Your refund is on its way.")
    alice.locator("#draft-new textarea[name=text]").focus()
    wait_until(
        lambda: presence(bob) == "Alice is replying",
        timeout=LIVENESS,
        what="Bob sees Alice replying",
        log=lambda: presence(bob),
    )
    conflict = bob.locator("#reply-conflict")
    assert conflict.is_visible()
    assert "Alice is replying to this ticket too." in conflict.inner_text()

    # Bob's save is held once with the warning; a second press goes ahead.
    bob.fill("#draft-new textarea[name=text]", "We will refund you.")
    bob.locator("#draft-new button[name=save]").click()
    assert "Press the button again" in conflict.inner_text()
    # A beat's answer redraws the warning; the hint must survive it (it used to
    # vanish there, leaving a held button with no word why). The page asks again
    # only after drawing the last answer, so two requests mean one was drawn.
    for _ in range(2):
        with bob.expect_request(
            lambda request: request.url.endswith("/live/"), timeout=LIVENESS * 1000
        ):
            pass
    assert "Press the button again" in conflict.inner_text()
    assert not ReplyDraft.objects.filter(ticket=ticket).exists()
    bob.locator("#draft-new button[name=save]").click()
    bob.wait_for_selector("text=Reply saved as a draft")
    assert ReplyDraft.objects.get(ticket=ticket).author == agents["bob"]
    assert seen_alice == seen_bob == {"dialogs": [], "csp": []}
    alice.context.close()
    bob.context.close()


def test_the_page_shows_when_triage_and_a_send_finish(
    browser, live_server, agents, settings
):
    message = MessageFactory(
        ticket=TicketFactory(subject="Live news", customer_email="kim@example.com"),
        triage_status="received",
        text_body="Where is my parcel?",
    )
    ticket = message.ticket
    page = login(browser, live_server, "alice")
    seen = watch(page)
    page.goto(ticket_url(live_server, ticket))
    banner = page.locator("#tr-live-banner")
    assert page.locator("#tr-live").get_attribute("data-pending") == "1"
    assert not banner.is_visible()

    analysis_save(
        message_id=message.pk,
        results={
            "sentiment": fixture_outcome(
                {"label": "NEGATIVE", "score": 0.97}, model="fixture:sentiment"
            )
        },
    )
    wait_until(
        lambda: banner.is_visible(),
        timeout=LIVENESS,
        what="the triage-finished banner",
        log=lambda: page.locator("#tr-live").inner_html(),
    )
    assert banner.inner_text() == "Triage finished — reload"
    page.locator("#tr-live-reload").click()
    page.wait_for_selector(".triage-badge-negative")
    assert not banner.is_visible()

    draft = ReplyDraftFactory(
        in_reply_to_message=message,
        status=ReplyDraft.Status.APPROVED,
        approved_by=agents["bob"],
        text="Your parcel left today.",
    )
    page.reload()
    assert page.locator("#tr-live").get_attribute("data-sending") == "1"
    reply_send(draft.pk)
    wait_until(
        lambda: banner.is_visible(),
        timeout=LIVENESS,
        what="the reply-sent banner",
        log=lambda: page.locator("#tr-live").inner_html(),
    )
    assert banner.inner_text() == "Reply sent — reload"
    assert ReplyDraft.objects.get(pk=draft.pk).status == ReplyDraft.Status.SENT
    assert seen == {"dialogs": [], "csp": []}
    page.context.close()
