"""Issue 15 item 3: agents attach files to their own reply.

The files go through the real exactly-once send (eager Celery) to a real SMTP
server (aiosmtpd); the upload reaches the view as a real multipart POST.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import UserFactory, make_eml
from tests.mail_files import PDF_BYTES, png_bytes
from triage.models import Attachment, AuditEvent, Message, ReplyDraft
from triage.services import (
    ReplyRefused,
    email_ingest,
    reply_approve,
    reply_create,
    reply_edit,
)
from triage.services.replies import reply_version
from triage.services.reply_direct import reply_send_own

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(settings):
    settings.TRIAGE_MODELS = {}
    settings.TRIAGE_REPLY_APPROVAL = "model_drafts"
    raw = make_eml(
        body="Can I have the invoice?",
        subject="Invoice",
        sender="Kim <kim@example.com>",
        message_id="<invoice-1@example.com>",
    )
    return email_ingest(raw, source="t").message.ticket


def upload(name: str, payload: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, payload, content_type=content_type)


def parts(mail) -> list[tuple[str, str, bytes]]:
    return [
        (p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
        for p in mail.message.iter_attachments()
    ]


def test_own_reply_carries_its_files_and_cc_in_one_mail(
    agent, ticket, smtp, django_capture_on_commit_callbacks
):
    png = png_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        draft = reply_send_own(
            ticket_id=ticket.pk,
            user=agent,
            text="Your invoice is attached.",
            cc="accounts@example.org",
            attachments=[
                upload("Rechnung März.pdf", PDF_BYTES, "application/pdf"),
                upload("photo.png", png, "image/png"),
            ],
        )
    [mail] = smtp.received
    assert sorted(mail.rcpt_tos) == ["accounts@example.org", "kim@example.com"]
    assert mail.message["Cc"] == "accounts@example.org"
    assert parts(mail) == [
        ("Rechnung März.pdf", "application/pdf", PDF_BYTES),
        ("photo.png", "image/png", png),
    ]
    assert "Your invoice is attached." in mail.message.get_body().get_content()
    sent = Message.objects.get(direction=Message.Direction.OUTBOUND)
    # The files now belong to the mail they went out with (shown in the thread).
    assert set(
        Attachment.objects.filter(draft=draft).values_list("message", flat=True)
    ) == {sent.pk}
    event = AuditEvent.objects.get(action="reply_attachments_added")
    assert event.actor == agent
    assert [f["name"] for f in event.detail["files"]] == [
        "Rechnung März.pdf",
        "photo.png",
    ]
    assert AuditEvent.objects.get(action="reply_sent").detail["attachments"] == [
        "Rechnung März.pdf",
        "photo.png",
    ]


def test_a_saved_draft_keeps_its_files_until_an_approver_sends_it(
    client, agent, roles, ticket, smtp, django_capture_on_commit_callbacks
):
    draft = reply_create(
        ticket_id=ticket.pk,
        user=agent,
        text="See the attached label.",
        attachments=[upload("label.pdf", PDF_BYTES, "application/pdf")],
    )
    stored = Attachment.objects.get(draft=draft)
    assert stored.message is None
    approver = UserFactory(username="approver", groups=[roles["Approvers"]])
    # The approver sees what goes out with the draft, and can open it.
    client.force_login(approver)
    page = client.get(reverse("admin:triage_ticket_change", args=[ticket.pk]))
    box = page.content.decode().split(f'id="draft-{draft.pk}"', 1)[1]
    assert f'id="attachment-{stored.pk}"' in box.split("tr-approval", 1)[0]
    served = client.get(reverse("triage_attachment", args=[stored.pk]))
    assert b"".join(served.streaming_content) == PDF_BYTES
    with django_capture_on_commit_callbacks(execute=True):
        reply_approve(draft_id=draft.pk, user=approver, version=reply_version(draft))
    [mail] = smtp.received
    assert parts(mail) == [("label.pdf", "application/pdf", PDF_BYTES)]


@pytest.mark.parametrize("too_many", [False, True])
def test_files_over_the_caps_are_refused_and_nothing_is_stored(
    agent, ticket, smtp, settings, too_many
):
    settings.TRIAGE_REPLY_ATTACHMENTS_MAX_BYTES = 1000
    settings.TRIAGE_REPLY_ATTACHMENTS_MAX_COUNT = 2
    files = (
        [upload(f"f{i}.txt", b"x", "text/plain") for i in range(3)]
        if too_many
        else [upload("big.bin", b"x" * 1001, "application/octet-stream")]
    )
    with pytest.raises(ReplyRefused):
        reply_send_own(ticket_id=ticket.pk, user=agent, text="Hi", attachments=files)
    assert not ReplyDraft.objects.exists()
    assert not Attachment.objects.exists()
    assert smtp.received == []


def test_hostile_file_names_and_types_are_cleaned_before_the_mime(
    agent, ticket, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reply_send_own(
            ticket_id=ticket.pk,
            user=agent,
            text="Hi",
            attachments=[
                upload(
                    "..\\..\\x\r\nBcc: evil@example.net.txt",
                    b"data",
                    "text/plain\r\nX: y",
                )
            ],
        )
    [mail] = smtp.received
    assert mail.rcpt_tos == ["kim@example.com"]
    [(name, content_type, payload)] = parts(mail)
    assert "\n" not in name and "\\" not in name and name.endswith(".txt")
    assert content_type == "application/octet-stream"
    assert payload == b"data"


def test_the_reply_form_uploads_files_as_multipart(
    client, agent, ticket, smtp, django_capture_on_commit_callbacks
):
    client.force_login(agent)
    page = client.get(reverse("admin:triage_ticket_change", args=[ticket.pk]))
    assert b'enctype="multipart/form-data"' in page.content
    assert b'id="reply-attachments"' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:triage_ticket_draft_create", args=[ticket.pk]),
            {
                "text": "Attached.",
                "cc": "",
                "send_now": "1",
                "attachments": [upload("a.pdf", PDF_BYTES, "application/pdf")],
            },
        )
    assert response.status_code == 302
    [mail] = smtp.received
    assert parts(mail) == [("a.pdf", "application/pdf", PDF_BYTES)]


def test_files_added_while_editing_a_draft_go_out_and_need_a_fresh_approval(
    client, agent, approver, ticket, smtp, settings, django_capture_on_commit_callbacks
):
    settings.TRIAGE_REPLY_ATTACHMENTS_MAX_COUNT = 2
    draft = reply_create(
        ticket_id=ticket.pk,
        user=agent,
        text="The label is attached.",
        attachments=[upload("label.pdf", PDF_BYTES, "application/pdf")],
    )
    seen = reply_version(draft)
    # Through the draft's own form, as an agent edits it on the ticket page.
    client.force_login(agent)
    page = client.get(reverse("admin:triage_ticket_change", args=[ticket.pk]))
    assert f'id="draft-{draft.pk}-attachments"'.encode() in page.content
    png = png_bytes()
    response = client.post(
        reverse("admin:triage_ticket_draft_action", args=[ticket.pk, draft.pk, "edit"]),
        {
            "text": "The label is attached.",
            "attachments": [upload("photo.png", png, "image/png")],
        },
    )
    assert response.status_code == 302
    assert Attachment.objects.filter(draft=draft).count() == 2
    # A third file passes the count cap: refused, nothing stored.
    with pytest.raises(ReplyRefused, match="At most 2 files"):
        reply_edit(
            draft_id=draft.pk,
            user=agent,
            text="The label is attached.",
            attachments=[upload("more.txt", b"x", "text/plain")],
        )
    assert Attachment.objects.filter(draft=draft).count() == 2
    # What the approver read before the file was added is not what goes out.
    draft.refresh_from_db()
    with pytest.raises(ReplyRefused):
        reply_approve(draft_id=draft.pk, user=approver, version=seen)
    with django_capture_on_commit_callbacks(execute=True):
        reply_approve(draft_id=draft.pk, user=approver, version=reply_version(draft))
    [mail] = smtp.received
    assert parts(mail) == [
        ("label.pdf", "application/pdf", PDF_BYTES),
        ("photo.png", "image/png", png),
    ]
