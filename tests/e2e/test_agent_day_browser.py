"""Issue 15 (what agents do all day) in headless Chromium against a live server.

One file for the agent-day features, kept to few page loads: internal notes
with an @mention that the colleague sees on their own list; an agent's own
reply with Cc sent without an approver (policy) to a real SMTP server, next to
a model draft shown as superseded.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO
from tests.e2e.test_dashboard_browser import login, watch
from tests.factories import ReplyDraftFactory, TicketFactory, make_eml
from triage.models import (
    AuditEvent,
    Macro,
    Message,
    Notification,
    ReplyDraft,
    Ticket,
    TicketNote,
)
from triage.services import email_ingest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = REPO / "artifacts"


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


def test_agent_sends_own_reply_with_cc_and_sees_the_superseded_draft(
    browser, live_server, users, smtp_server, settings, eager_tasks
):
    settings.TRIAGE_MODELS = {}
    settings.TRIAGE_REPLY_APPROVAL = "model_drafts"
    first = email_ingest(
        make_eml(
            body="Where is my parcel?",
            subject="Parcel",
            sender="Kim <kim@example.com>",
            message_id="<p-1@example.com>",
        ),
        source="e2e",
    ).message
    old = ReplyDraftFactory(in_reply_to_message=first, text="Stale model answer")
    ticket = first.ticket
    email_ingest(
        make_eml(
            body="Still nothing, any news?",
            subject=f"Re: [#{ticket.pk}] Parcel",
            sender="Kim <kim@example.com>",
            message_id="<p-2@example.com>",
            in_reply_to="<p-1@example.com>",
        ),
        source="e2e",
    )

    page = login(browser, live_server, "agent")
    seen = watch(page)
    page.goto(f"{live_server.url}/admin/triage/ticket/{ticket.pk}/change/")
    superseded = page.locator(f"#draft-{old.pk}")
    assert superseded.get_attribute("data-status") == "superseded"
    assert "superseded" in superseded.inner_text()
    assert page.get_by_role("button", name="Approve and send").count() == 0
    page.fill("#draft-new textarea[name=text]", "Your parcel left our warehouse today.")
    page.fill("#reply-cc", "courier@example.org")
    page.click("#reply-send-now")
    page.wait_for_selector("text=it goes out once")
    assert seen == {"dialogs": [], "csp": []}
    page.context.close()

    [mail] = smtp_server.received
    assert sorted(mail.rcpt_tos) == ["courier@example.org", "kim@example.com"]
    assert mail.message["Cc"] == "courier@example.org"
    own = ReplyDraft.objects.get(created_by=ReplyDraft.Author.AGENT)
    assert own.status == ReplyDraft.Status.SENT
    assert own.approved_by == users["agent"]
    assert AuditEvent.objects.filter(action="reply_sent_directly").count() == 1

    # Under the stricter policy the button is gone and a hand-made POST is refused.
    settings.TRIAGE_REPLY_APPROVAL = "all"
    page = login(browser, live_server, "agent")
    page.goto(f"{live_server.url}/admin/triage/ticket/{ticket.pk}/change/")
    assert page.locator("#reply-send-now").count() == 0
    page.fill("#draft-new textarea[name=text]", "Sneaky")
    token = page.locator("#draft-new input[name=csrfmiddlewaretoken]").input_value()
    page.request.post(
        f"{live_server.url}/admin/triage/ticket/{ticket.pk}/drafts/new/",
        form={"csrfmiddlewaretoken": token, "text": "Sneaky", "send_now": "1"},
        headers={"Referer": page.url},
    )
    assert len(smtp_server.received) == 1
    assert not ReplyDraft.objects.filter(text="Sneaky").exists()
    page.context.close()


def test_team_lead_writes_a_macro_and_an_agent_inserts_it(browser, live_server, users):
    ticket = TicketFactory(
        subject="Refund please", customer_name="Ada Lovelace", intent="refund"
    )

    # The lead creates it in the admin; a broken template is refused there.
    page = login(browser, live_server, "lead")
    page.goto(f"{live_server.url}/admin/triage/macro/add/")
    page.fill("#id_name", "Refund started")
    page.fill("#id_body", "Hi {{ customer.first_name }} {{ ''.__class__ }}")
    page.fill("#id_intents", "refund")
    page.click("input[name=_save]")
    page.wait_for_selector(".errornote")
    assert "cannot be rendered" in page.locator(".errorlist").first.inner_text()
    assert not Macro.objects.exists()
    page.fill(
        "#id_body", "Hi {{ customer.first_name }}, refund for #{{ ticket.id }} started."
    )
    page.select_option("#id_set_status", Ticket.Status.WAITING)
    page.click("input[name=_save]")
    page.wait_for_url(re.compile(r".*/admin/triage/macro/$"))
    page.context.close()

    # An agent cannot manage macros...
    page = login(browser, live_server, "agent")
    response = page.request.get(f"{live_server.url}/admin/triage/macro/add/")
    assert response.status == 403
    # ...but sees it suggested on a refund ticket and inserts it.
    page.goto(f"{live_server.url}/admin/triage/ticket/{ticket.pk}/change/")
    suggested = page.locator(".tr-macro-suggested")
    suggested.get_by_role("button", name="Refund started").click()
    page.wait_for_selector("text=Macro inserted into the reply box")
    box = page.locator("#drafts textarea[name=text]").first
    assert box.input_value() == f"Hi Ada, refund for #{ticket.pk} started."
    assert "Macro applied" in page.locator("#activity").inner_text()
    page.context.close()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING


def test_customer_history_panel_page_and_list_count(browser, live_server, users):
    old = TicketFactory(
        customer_email="ada@example.com", customer_name="Ada L", subject="Old order"
    )
    new = TicketFactory(
        customer_email="ada@example.com", customer_name="Ada L", subject="New order"
    )
    TicketFactory(customer_email="bob@example.com", subject="Bob's")
    ARTIFACTS.mkdir(exist_ok=True)

    page = login(browser, live_server, "agent")
    seen = watch(page)
    page.goto(f"{live_server.url}/admin/triage/ticket/")
    counts = page.locator(".tr-customer-count")
    assert counts.count() == 2  # Ada's two rows; Bob has one ticket, no chip
    assert counts.first.inner_text() == "2 tickets"
    page.goto(f"{live_server.url}/admin/triage/ticket/{new.pk}/change/")
    history = page.locator("#customer-history")
    assert "Old order" in history.inner_text()
    assert "New order" not in history.inner_text()
    page.click("#customer-page-link")
    page.wait_for_selector("#customer-tickets")
    rows = page.locator("#customer-tickets tbody tr")
    assert rows.count() == 2
    assert f"#{old.pk} Old order" in rows.nth(1).inner_text()
    page.screenshot(path=str(ARTIFACTS / "customer-page.png"), full_page=True)
    assert seen == {"dialogs": [], "csp": []}
    page.context.close()


def test_agent_marks_spam_blocks_sender_and_undoes(browser, live_server, users):
    spam = TicketFactory(customer_email="win@prizes.example", subject="You won")
    TicketFactory(customer_email="kim@example.com", subject="Real question")

    page = login(browser, live_server, "agent")
    seen = watch(page)
    page.goto(f"{live_server.url}/admin/triage/ticket/{spam.pk}/change/")
    page.check("#spam-block")
    page.click("#spam-mark")
    page.wait_for_selector("#spam-state")
    assert "sender is blocked" in page.locator("#spam-state").inner_text()
    page.goto(f"{live_server.url}/admin/triage/ticket/")
    assert "You won" not in page.locator("#result_list").inner_text()
    assert "Real question" in page.locator("#result_list").inner_text()
    page.goto(f"{live_server.url}/admin/triage/ticket/?spam=yes")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and "You won" in rows.first.inner_text()
    rows.first.get_by_role("link", name=re.compile("You won")).click()
    page.check("#spam-unblock")
    page.click("#spam-undo")
    page.wait_for_selector("text=Not spam: the ticket is back in the list.")
    page.goto(f"{live_server.url}/admin/triage/ticket/")
    assert "You won" in page.locator("#result_list").inner_text()
    assert seen == {"dialogs": [], "csp": []}
    page.context.close()
    assert [
        e.action for e in AuditEvent.objects.filter(ticket=spam).order_by("pk")
    ] == ["marked_spam", "unmarked_spam"]
