"""Issue 15 items 3 and 5 in headless Chromium against a live server.

An agent sees a customer's image as a thumbnail (served through the app's
checked view) and a flagged file as withheld, then replies with a file and a
Cc: the real SMTP server receives exactly one mail carrying both. An agent
merges two tickets by number and splits a message off into a new ticket.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO
from tests.e2e.test_dashboard_browser import login, watch
from tests.factories import UserFactory, make_eml
from tests.mail_files import PDF_BYTES, make_eml_with_files, png_bytes
from triage.models import Attachment, AuditEvent, Message, ReplyDraft, Ticket
from triage.services import email_ingest, roles_sync

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = REPO / "artifacts"


@pytest.fixture
def agent(transactional_db):
    groups = roles_sync()
    return UserFactory(username="agent", groups=[groups["Agents"]])


def test_agent_replies_with_a_file_and_cc_received_by_smtp(
    browser, live_server, agent, smtp_server, settings, eager_tasks, tmp_path
):
    settings.TRIAGE_MODELS = {}
    settings.TRIAGE_REPLY_APPROVAL = "model_drafts"
    settings.TRIAGE_ATTACHMENT_MAX_BYTES = 4096
    message = email_ingest(
        make_eml_with_files(
            [
                ("broken-vase.png", "image/png", png_bytes(40, 30)),
                ("huge.bin", "application/octet-stream", b"x" * 5000),
            ],
            body="The vase arrived broken, photo attached.",
            subject="Broken vase",
            sender="Kim <kim@example.com>",
            message_id="<vase-1@example.com>",
        ),
        source="e2e",
    ).message
    ticket = message.ticket
    photo = Attachment.objects.get(message=message, filename="broken-vase.png")
    label = tmp_path / "return-label.pdf"
    label.write_bytes(PDF_BYTES)

    page = login(browser, live_server, "agent")
    seen = watch(page)
    page.goto(f"{live_server.url}/admin/triage/ticket/{ticket.pk}/change/")
    thumb = page.locator(f"#attachment-{photo.pk} img.tr-thumb")
    thumb.wait_for()
    # Decoded by the browser: the checked view served it inline as an image.
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 40", arg=thumb.element_handle()
    )
    assert (
        "withheld: larger than 4096 bytes" in page.locator(".tr-withheld").inner_text()
    )
    page.fill("#draft-new textarea[name=text]", "Sorry! A return label is attached.")
    page.fill("#reply-cc", "returns@example.org")
    page.set_input_files("#reply-attachments", str(label))
    page.click("#reply-send-now")
    page.wait_for_selector("text=it goes out once")
    assert seen == {"dialogs": [], "csp": []}

    [mail] = smtp_server.received
    assert sorted(mail.rcpt_tos) == ["kim@example.com", "returns@example.org"]
    assert mail.message["Cc"] == "returns@example.org"
    [part] = list(mail.message.iter_attachments())
    assert part.get_filename() == "return-label.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == PDF_BYTES
    assert "A return label is attached." in mail.message.get_body().get_content()

    # The sent reply shows in the thread with its file; the event is audited.
    page.reload()
    sent = page.locator("article.tr-out")
    assert "return-label.pdf" in sent.inner_text()
    # One customer message (and our reply): nothing to split off.
    assert page.locator(".tr-split-form").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ticket-attachments.png"), full_page=True)
    page.context.close()
    draft = ReplyDraft.objects.get(created_by=ReplyDraft.Author.AGENT)
    assert draft.status == ReplyDraft.Status.SENT
    assert Attachment.objects.get(draft=draft).message == draft.sent_message
    event = AuditEvent.objects.get(action="reply_attachments_added")
    assert (
        event.actor == agent and event.detail["files"][0]["name"] == "return-label.pdf"
    )


def test_agent_merges_two_tickets_and_splits_a_message_off(
    browser, live_server, agent, settings
):
    settings.TRIAGE_MODELS = {}

    def mail(body: str, subject: str, message_id: str, **kw: str) -> Message:
        raw = make_eml(
            body=body,
            subject=subject,
            sender="Kim <kim@example.com>",
            message_id=message_id,
            **kw,
        )
        return email_ingest(raw, source="e2e").message

    first = mail("Where is my parcel?", "Parcel", "<m-1@example.com>")
    second = mail(
        "And please change my address.",
        f"Re: [#{first.ticket_id}] Parcel",
        "<m-2@example.com>",
        in_reply_to="<m-1@example.com>",
    )
    dup = mail("Parcel?? Nobody answers", "Parcel again", "<m-3@example.com>")
    target, source = first.ticket, dup.ticket
    messages_before = Message.objects.count()
    events_before = set(AuditEvent.objects.values_list("pk", flat=True))

    page = login(browser, live_server, "agent")
    seen = watch(page)
    page.goto(f"{live_server.url}/admin/triage/ticket/{source.pk}/change/")
    page.fill("#merge-target", str(target.pk))
    page.click("#merge-submit")
    page.wait_for_url(re.compile(rf".*/admin/triage/ticket/{target.pk}/change/$"))
    assert f"Ticket #{source.pk} merged into #{target.pk}" in page.content()
    assert page.locator("article.triage-message").count() == 3
    assert f"#{source.pk}" in page.locator("#merged-from").inner_text()
    assert (
        "Another ticket merged into this one" in page.locator("#activity").inner_text()
    )
    # The merged ticket's page leads here.
    page.goto(f"{live_server.url}/admin/triage/ticket/{source.pk}/change/")
    page.wait_for_url(re.compile(rf".*/admin/triage/ticket/{target.pk}/change/$"))
    assert Message.objects.count() == messages_before
    assert Message.objects.filter(ticket=target).count() == 3
    after = set(AuditEvent.objects.values_list("pk", flat=True))
    assert after > events_before and len(after) == len(events_before) + 2

    # Split the address change off into a ticket of its own.
    page.click(f"#split-{second.pk}")
    page.wait_for_selector("text=into the new ticket")
    new = Ticket.objects.exclude(pk__in=[target.pk, source.pk]).get()
    assert page.url.endswith(f"/admin/triage/ticket/{new.pk}/change/")
    assert page.locator("article.triage-message").count() == 1
    assert "change my address" in page.locator("article.triage-message").inner_text()
    assert "Split from another ticket" in page.locator("#activity").inner_text()
    assert seen == {"dialogs": [], "csp": []}
    page.context.close()
    assert Message.objects.get(pk=second.pk).ticket == new
    assert Message.objects.filter(ticket=target).count() == 2
    assert AuditEvent.objects.filter(ticket=target, action="message_split_out").exists()
