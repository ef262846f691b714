"""Issue 10: whatever arrives, nothing is lost and nothing stalls.

One test (or a few) per class of hostile input, on PostgreSQL and through the real
endpoints: dates PostgreSQL cannot hold, characters it refuses, unreadable rows,
pre-authentication cost, part floods, From parse differentials, thread injection,
poisoned References, approval without a version, secrets in logs. Chunked bodies
through a real gunicorn live in tests/e2e/test_chunked.py.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
from django.db import DataError, connection
from django.urls import reverse

from tests.factories import MessageFactory, ReplyDraftFactory, UserFactory, make_eml
from tests.triage.webhooks.conftest import (
    SENDGRID_URL_SECRET,
    mailgun_signed,
    multipart,
    raw_signature,
)
from triage.models import AuditEvent, Message, ReplyDraft, Ticket
from triage.services import email_ingest
from triage.services.replies import reply_compose
from triage.services.triage import analysis_save, message_triage_claim
from triage.webhooks import body as webhook_body
from triage.webhooks import views

pytestmark = pytest.mark.django_db


def post_mime(client, raw: bytes):
    return client.generic(
        "POST",
        "/webhooks/mime/",
        raw,
        content_type="message/rfc822",
        **raw_signature(raw),
    )


def hostile_eml(*, date: str = "Mon, 03 Nov 2025 09:14:22 +0000", **headers) -> bytes:
    lines = {
        "From": "Ada Customer <ada@example.com>",
        "To": "support@example-shop.test",
        "Subject": "Parcel missing",
        "Date": date,
        "Message-ID": f"<hostile-{time.monotonic_ns()}@example.com>",
        "Content-Type": 'text/plain; charset="utf-8"',
        **headers,
    }
    head = b"".join(
        name.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) + b"\r\n"
        for name, v in lines.items()
    )
    return head + b"\r\nMy parcel never arrived.\r\n"


def reads_back(pk: int) -> Message:
    """Every column of the row, as the admin and the claim would read it."""
    message = Message.objects.get(pk=pk)
    for field in Message._meta.concrete_fields:
        getattr(message, field.attname)
    for attachment in message.attachments.all():
        attachment.content_type, attachment.filename
    return message


# --- 1. Dates PostgreSQL cannot hold --------------------------------------------------


@pytest.mark.parametrize(
    "date",
    [
        "Fri, 31 Dec 9999 23:00:00 -0500",  # year 10000 in UTC
        "Mon, 03 Nov 2025 09:14:22 +1600",  # PostgreSQL refuses the offset
        "Mon, 03 Nov 2025 09:14:22 -2359",
        "Mon, 03 Nov 1850 09:14:22 +0000",  # no mail was sent then
    ],
)
def test_implausible_dates_are_dropped_and_flagged(client, admin_client, date):
    response = post_mime(client, hostile_eml(date=date))
    assert response.status_code == 200, response.content
    message = reads_back(response.json()["message"])
    assert message.sent_at is None
    assert "ImplausibleDate" in message.parse_defects and message.is_malformed
    for url in (
        reverse("admin:triage_ticket_change", args=[message.ticket_id]),
        reverse("admin:triage_ticket_changelist"),
        reverse("admin:triage_message_changelist"),
    ):
        assert admin_client.get(url).status_code == 200, url


def test_plausible_dates_are_kept_in_utc(client):
    response = post_mime(client, hostile_eml(date="Mon, 03 Nov 2025 09:14:22 +1400"))
    message = reads_back(response.json()["message"])
    assert message.sent_at == datetime(2025, 11, 2, 19, 14, 22, tzinfo=UTC)
    assert "ImplausibleDate" not in message.parse_defects


def test_a_row_python_cannot_read_does_not_stop_the_claim(tiny_settings):
    """A year-10000 row stored before the fix: the claim and the save go on."""
    poisoned = MessageFactory()
    others = [MessageFactory() for _ in range(3)]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE triage_message SET sent_at = '10000-01-01 00:00:00+00' "
            "WHERE id = %s",
            [poisoned.pk],
        )
    with pytest.raises(DataError):  # what every full-row read used to hit
        Message.objects.get(pk=poisoned.pk)
    jobs = message_triage_claim([others[0].pk], extra=10)
    assert {j.message_id for j in jobs} == {poisoned.pk, *(m.pk for m in others)}
    analysis_save(
        message_id=poisoned.pk,
        results={"sentiment": {"result": {"label": "NEGATIVE", "score": 0.9}}},
    )
    status = Message.objects.filter(pk=poisoned.pk).values_list(
        "triage_status", flat=True
    )
    assert list(status) == [Message.TriageStatus.TRIAGED]


def test_the_migration_clears_implausible_stored_dates(migrator_rows):
    assert migrator_rows == [(None, True, ["ImplausibleDate"])]


@pytest.fixture
def migrator_rows():
    """Run the 0006 data migration's function over a year-10000 row."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("triage.migrations.0006_i10_message_mentions_ticket")
    message = MessageFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE triage_message SET sent_at = '10000-01-01 00:00:00+00' "
            "WHERE id = %s",
            [message.pk],
        )
    migration.clear_implausible_dates(apps, None)
    return list(
        Message.objects.filter(pk=message.pk).values_list(
            "sent_at", "is_malformed", "parse_defects"
        )
    )


# --- 2. NUL and other characters PostgreSQL text refuses ------------------------------


def test_nul_in_any_header_derived_field_is_cleaned_once_and_recorded(client):
    raw = (
        b"From: =?utf-8?q?Ada=00_Nul?= <ada@example.com>\r\n"
        b"To: support@example-shop.test\r\n"
        b"Subject: =?utf-8?q?Parcel=00missing?=\r\n"
        b"Message-ID: <nul-\x00-id@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b'--b\r\nContent-Type: text/plain; charset="utf-8\x00"\r\n\r\nHello\r\n'
        b"--b\r\nContent-Type: application/x-\x00evil\r\n"
        b'Content-Disposition: attachment; filename="a\x00b.txt"\r\n\r\n'
        b"data\r\n--b--\r\n"
    )
    response = post_mime(client, raw)
    assert response.status_code == 200, response.content
    message = reads_back(response.json()["message"])
    stored = [
        message.from_name,
        message.subject,
        message.message_id,
        message.text_body,
        *(f for a in message.attachments.all() for f in (a.filename, a.content_type)),
    ]
    assert stored and not any("\x00" in value for value in stored)
    assert message.from_address == "ada@example.com"
    assert message.attachments.count() == 1
    assert message.is_malformed


def test_every_stored_value_passes_the_one_cleaning_point():
    from triage.services.ingest import stored_values

    defects: list[str] = []
    values = stored_values(
        Message,
        {
            "subject": "a\x00b",
            "to": "lone \ud800 surrogate",
            "sent_at": datetime(9999, 12, 31, tzinfo=UTC),
            "from_address": "x" * 400,
        },
        defects,
    )
    assert values["subject"] == "ab" and "\ud800" not in values["to"]
    assert values["sent_at"] is None and len(values["from_address"]) == 320
    assert sorted(defects) == [
        "Unstorable:Message.sent_at",
        "Unstorable:Message.subject",
        "Unstorable:Message.to",
    ]


# --- 5. Work before authentication ----------------------------------------------------


def flood(parts: int) -> tuple[bytes, str]:
    part = b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n'
    return part * parts + b"--B--\r\n", "multipart/form-data; boundary=B"


def test_unsigned_part_flood_is_refused_at_the_part_cap(client, monkeypatch):
    """800k tiny parts: the streaming parser stops at the cap, before any
    signature check, and nothing is written."""
    kept: list[str] = []
    real = webhook_body._form_part

    def counting(segment, data):
        kept.append(segment.name)
        return real(segment, data)

    monkeypatch.setattr(webhook_body, "_form_part", counting)
    body, content_type = flood(800_000)
    response = client.generic("POST", "/webhooks/mailgun/", body, content_type)
    assert response.status_code == 401
    assert kept == []  # no part of the flood was even kept: only signature fields
    assert Message.objects.count() == 0


def test_unsigned_urlencoded_flood_is_refused_unsplit(client):
    response = client.generic(
        "POST",
        "/webhooks/mailgun/",
        b"a=x&" * 2_000_000,
        "application/x-www-form-urlencoded",
    )
    assert response.status_code == 401
    assert Message.objects.count() == 0


def test_signed_form_under_the_part_cap_still_works(client):
    fields = mailgun_signed(
        {
            "body-mime": make_eml(message_id="<capped-ok@example.com>").decode(),
            **{f"x-extra-{i}": "y" for i in range(50)},
        }
    )
    body, content_type = multipart(fields)
    response = client.generic("POST", "/webhooks/mailgun/mime/", body, content_type)
    assert response.status_code == 200, response.content


def test_parse_form_keeps_only_the_asked_fields():
    fields = mailgun_signed({"body-mime": "big" * 1000})
    body, content_type = multipart(fields)
    form = webhook_body.parse_form(
        content_type, body, only=views.MAILGUN_SIGNATURE_FIELDS
    )
    assert {p.name for p in form.parts} == {"timestamp", "token", "signature"}
    with pytest.raises(webhook_body.BadForm):
        webhook_body.parse_form(*reversed(flood(webhook_body.MAX_FORM_PARTS + 1)))


# --- 6. A mailed flood of MIME parts -----------------------------------------------


def many_parts(parts: int, message_id: str) -> bytes:
    head = (
        "From: Flood <flood@example.com>\r\nTo: support@example-shop.test\r\n"
        f"Subject: many parts\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n'
        "--zz\r\nContent-Type: text/plain\r\n\r\nThe real text comes first.\r\n"
    ).encode()
    part = b"--zz\r\nContent-Type: application/octet-stream\r\n\r\nxx\r\n"
    return head + part * parts + b"--zz--\r\n"


def test_parts_walked_are_capped_and_a_retry_is_not_parsed_again(
    client, settings, monkeypatch
):
    raw = many_parts(20_000, "<flood-1@example.com>")
    response = post_mime(client, raw)
    assert response.status_code == 200
    message = reads_back(response.json()["message"])
    assert f"MimePartsCapped:{settings.TRIAGE_MIME_MAX_PARTS}" in message.parse_defects
    assert "The real text comes first." in message.text_body
    assert bytes(message.raw) == raw  # the raw is kept whole
    assert message.attachments.count() <= settings.TRIAGE_ATTACHMENT_MAX_COUNT + 50

    def forbidden(*args, **kwargs):
        raise AssertionError("a duplicate was parsed again")

    monkeypatch.setattr("triage.services.ingest.parse_email", forbidden)
    again = post_mime(client, raw)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"


# --- 7. From parse differential -------------------------------------------------------


@pytest.mark.parametrize(
    "from_header",
    [
        "=?utf-8?q?Hi=0A=3A_victim=40victim.test?= <attacker@evil.test>",
        "=?utf-8?q?victim=40victim.test?= <attacker@evil.test>",
        '"victim@victim.test" <attacker@evil.test>',
        "=?utf-7?q?+ADw-victim=40victim.test+AD4-?= <attacker@evil.test>",
    ],
)
def test_the_address_is_the_headers_addr_spec(client, from_header):
    victim = email_ingest(
        make_eml(sender="Victim <victim@victim.test>", message_id="<v1@victim.test>"),
        source="t",
    ).message
    raw = hostile_eml(From=from_header, Subject=f"Re: [#{victim.ticket_id}] my order")
    response = post_mime(client, raw)
    message = reads_back(response.json()["message"])
    assert message.from_address == "attacker@evil.test"
    assert message.ticket_id != victim.ticket_id
    assert message.ticket.customer_email == "attacker@evil.test"
    assert message.mentions_ticket_id == victim.ticket_id


def test_an_encoded_line_break_never_becomes_an_address_or_a_recipient(client):
    raw = hostile_eml(
        From="=?utf-8?q?Hi=0D=0ABcc=3A_x=40evil.test?= victim@victim.test"
    )
    message = reads_back(post_mime(client, raw).json()["message"])
    assert "\n" not in message.from_address and "\r" not in message.from_address
    assert "evil" not in message.from_address
    assert "\n" not in message.from_name and "\r" not in message.from_name


# --- 8. Thread injection --------------------------------------------------------------


def test_a_strangers_reply_headers_open_a_ticket_that_mentions_the_other(client):
    victim = email_ingest(
        make_eml(sender="Victim <victim@victim.test>", message_id="<v2@victim.test>"),
        source="t",
    ).message
    raw = hostile_eml(
        From="Attacker <attacker@evil.test>",
        **{"In-Reply-To": "<v2@victim.test>", "References": "<v2@victim.test>"},
    )
    stranger = reads_back(post_mime(client, raw).json()["message"])
    assert stranger.ticket_id != victim.ticket_id
    assert stranger.mentions_ticket_id == victim.ticket_id
    assert AuditEvent.objects.filter(
        ticket=victim.ticket, action="mentioned_by_stranger"
    ).exists()
    # The victim's next reply still answers the victim's own mail.
    draft = ReplyDraftFactory(
        in_reply_to_message=None, ticket=victim.ticket, text="We are on it."
    )
    outgoing = reply_compose(draft)
    assert outgoing.to == "victim@victim.test"
    assert outgoing.in_reply_to == "<v2@victim.test>"
    # And the customer's own reply still threads.
    own = email_ingest(
        make_eml(
            sender="Victim <victim@victim.test>",
            message_id="<v3@victim.test>",
            in_reply_to="<v2@victim.test>",
        ),
        source="t",
    ).message
    assert own.ticket_id == victim.ticket_id and own.mentions_ticket_id is None


def test_an_inbound_mail_reusing_an_outbound_id_does_not_redirect_answers():
    outbound = MessageFactory(
        direction=Message.Direction.OUTBOUND,
        message_id="<reply-abc@example-shop.test>",
        ticket__customer_email="olga@example.com",
    )
    email_ingest(
        make_eml(
            sender="Attacker <attacker@evil.test>",
            message_id="<reply-abc@example-shop.test>",
        ),
        source="t",
    )
    answer = email_ingest(
        make_eml(
            sender="Olga <olga@example.com>",
            message_id="<olga-2@example.com>",
            in_reply_to="<reply-abc@example-shop.test>",
        ),
        source="t",
    ).message
    assert answer.ticket_id == outbound.ticket_id


def test_poisoned_references_never_reach_or_block_a_reply():
    customer = email_ingest(
        make_eml(sender="Ada <ada@example.com>", message_id="<p1@example.com>"),
        source="t",
    ).message
    poisoned = email_ingest(
        make_eml(
            sender="Ada <ada@example.com>",
            message_id="<p2@example.com>",
            in_reply_to="<p1@example.com>",
            references=(
                "<p1@example.com> <=?utf-8?q?a=0D=0ABcc:_x@evil.test?=@x> "
                "<other-ticket@example.com> <p1@example.com>"
            ),
        ),
        source="t",
    ).message
    assert poisoned.ticket_id == customer.ticket_id
    MessageFactory(message_id="<other-ticket@example.com>")  # another ticket's id
    draft = ReplyDraftFactory(
        ticket=customer.ticket, in_reply_to_message=poisoned, text="Refunded."
    )
    outgoing = reply_compose(draft)  # did raise ReplyRefused before
    assert outgoing.references == ("<p1@example.com>", "<p2@example.com>")
    assert outgoing.in_reply_to == "<p2@example.com>"


# --- 10. Approving needs the version the approver saw --------------------------------


def test_approve_without_a_version_is_refused_in_the_dashboard(client, settings):
    from django.contrib.auth.models import Group

    approver = UserFactory(
        username="approver-v", groups=[Group.objects.get(name="Approvers")]
    )
    client.force_login(approver)
    draft = ReplyDraftFactory()
    url = reverse(
        "admin:triage_ticket_draft_action", args=[draft.ticket_id, draft.pk, "approve"]
    )
    response = client.post(url, {}, follow=True)
    assert response.status_code == 200
    assert "which version" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.DRAFTED


# --- 11. The SendGrid URL secret never reaches the logs ------------------------------


@pytest.mark.parametrize("secret", [SENDGRID_URL_SECRET, "an-attackers-guess"])
def test_sendgrid_url_secret_is_redacted_from_request_logs(client, caplog, secret):
    caplog.set_level(logging.INFO)
    response = client.generic(
        "POST",
        f"/webhooks/sendgrid/{secret}/",
        b"not a form",
        "text/plain",
    )
    assert response.status_code in (400, 401)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/webhooks/sendgrid/[redacted]" in logged  # Django's request logger
    assert secret not in logged
    assert Ticket.objects.count() == 0
