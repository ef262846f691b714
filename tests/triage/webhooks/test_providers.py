"""Each provider's documented payload becomes one stored message, raw kept."""

from __future__ import annotations

import base64
import json
from email import policy
from email.parser import BytesParser
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.triage.webhooks.conftest import (
    SENDGRID_URL_SECRET,
    WEBHOOK_CORPUS,
    basic_auth,
    fixture_json,
    mailgun_signed,
    multipart,
    needs_shared_corpus,
)
from triage.models import Attachment, Message
from triage.webhooks.body import Form, FormPart
from triage.webhooks.providers import (
    PayloadError,
    mailgun_mail,
    postmark_mail,
    sendgrid_mail,
)

pytestmark = pytest.mark.django_db


def post_postmark(client, payload):
    return client.generic(
        "POST",
        "/webhooks/postmark/",
        json.dumps(payload).encode(),
        content_type="application/json",
        **basic_auth(),
    )


def post_mailgun(client, fields, files=(), path="/webhooks/mailgun/"):
    body, content_type = multipart(mailgun_signed(fields), files)
    return client.generic("POST", path, body, content_type=content_type)


def post_sendgrid(client, fields, files=()):
    body, content_type = multipart(fields, files)
    return client.generic(
        "POST",
        f"/webhooks/sendgrid/{SENDGRID_URL_SECRET}/",
        body,
        content_type=content_type,
    )


def reparse(message: Message):
    return BytesParser(policy=policy.default).parsebytes(bytes(message.raw))


# --- Postmark ---------------------------------------------------------------------


def test_postmark_parsed_payload_is_rebuilt_as_mime(client):
    payload = fixture_json("postmark-inbound.json")
    response = post_postmark(client, payload)
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.source == "postmark"
    assert message.provider_message_id == payload["MessageID"]
    # The original Message-ID from the Headers list, not Postmark's own id.
    assert message.message_id == (
        "<CAGXpo2WKfxHWZ5UFYCR3H_J9SNMG+5AXUovfEFL6DjWBJSyZaA@mail.example.com>"
    )
    assert message.from_address == "ada@example.com"
    assert message.from_name == "Ada Lovelace"
    assert message.subject == "Order 4711: the lamp arrived broken"
    assert "cracked shade" in message.text_body
    assert "<b>replacement</b>" in message.html_body
    assert message.cc == "charles@example.com"
    attachment = Attachment.objects.get(message=message)
    assert attachment.filename == "cracked-shade.png"
    assert attachment.file.read().startswith(b"\x89PNG")
    rebuilt = reparse(message)
    assert rebuilt["X-Triage-Rebuilt"].startswith("postmark")
    assert rebuilt["X-Spam-Status"] == "No"


def test_postmark_raw_email_is_stored_as_sent(client):
    payload = fixture_json("postmark-inbound-raw.json")
    assert post_postmark(client, payload).status_code == 200
    message = Message.objects.get()
    assert bytes(message.raw) == payload["RawEmail"].encode()
    assert message.message_id == "<raw-4712@mail.example.com>"
    assert "— Ada" in message.text_body


def test_postmark_without_message_id_dedupes_on_postmark_id(client):
    payload = fixture_json("postmark-inbound.json")
    payload["Headers"] = [h for h in payload["Headers"] if h["Name"] != "Message-ID"]
    first = post_postmark(client, payload)
    retry = post_postmark(client, payload)
    assert first.json()["status"] == "stored"
    assert retry.json()["status"] == "duplicate"
    message = Message.objects.get()
    assert message.message_id == f"<postmark.{payload['MessageID']}@triage.invalid>"
    assert message.message_id_synthetic


def test_postmark_replayed_message_id_gives_one_row(
    client, django_capture_on_commit_callbacks
):
    payload = fixture_json("postmark-inbound.json")
    with django_capture_on_commit_callbacks() as callbacks:
        statuses = [post_postmark(client, payload).json()["status"] for _ in range(3)]
    assert statuses == ["stored", "duplicate", "duplicate"]
    assert Message.objects.count() == 1
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"Subject": "no sender, no body"}']
)
def test_postmark_unusable_payload_gets_403_so_postmark_stops(client, body):
    response = client.generic(
        "POST",
        "/webhooks/postmark/",
        body,
        content_type="application/json",
        **basic_auth(),
    )
    assert response.status_code == 403
    assert Message.objects.count() == 0


def test_postmark_hostile_fields_still_store_the_mail(client):
    payload = fixture_json("postmark-inbound.json")
    payload["Headers"] += [
        {"Name": "Subject", "Value": "Injected\r\nBcc: victim@example.com"},
        {"Name": "X-Bad\r\nBcc", "Value": "x"},
        {"Name": "", "Value": "nameless"},
        {"Name": "Date", "Value": "not a date at all"},
    ]
    payload["FromFull"] = {"Email": "not an address <<<", "Name": "\x00Eve"}
    payload["Attachments"].append(
        {"Name": "x", "Content": "!!!", "ContentType": "a b/c"}
    )
    assert post_postmark(client, payload).status_code == 200
    message = Message.objects.get()
    raw = bytes(message.raw)
    assert b"\r\nBcc" not in raw and b"X-Bad" not in raw
    assert "cracked shade" in message.text_body


# --- Mailgun ----------------------------------------------------------------------


def test_mailgun_parsed_fields_are_rebuilt(client):
    fields = fixture_json("mailgun-parsed.fields.json")
    files = [("attachment-1", "receipt.pdf", "application/pdf", b"%PDF-1.4 tiny")]
    assert post_mailgun(client, fields, files).status_code == 200
    message = Message.objects.get()
    assert message.source == "mailgun"
    assert message.message_id == "<mg-parsed-1@mail.example.net>"
    assert message.from_address == "bob@example.net"
    assert message.subject == "Refund for a double charge"
    assert "charged twice for order 5150" in message.text_body
    attachment = Attachment.objects.get(message=message)
    assert attachment.filename == "receipt.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.file.read() == b"%PDF-1.4 tiny"
    # Received trail kept; the original Content-Type header is not.
    rebuilt = reparse(message)
    assert "mxa.mailgun.org" in rebuilt["Received"]
    assert rebuilt.get_content_type() == "multipart/mixed"


def test_mailgun_body_mime_is_stored_byte_for_byte(client):
    fields = fixture_json("mailgun-mime.fields.json")
    assert (
        post_mailgun(client, fields, path="/webhooks/mailgun/mime").status_code == 200
    )
    message = Message.objects.get()
    assert bytes(message.raw) == fields["body-mime"].encode()
    assert message.message_id == "<mg-mime-1@mail.example.net>"
    assert "exchange it… quickly" in message.text_body


def test_mailgun_rebuild_is_deterministic_for_retries(client):
    fields = fixture_json("mailgun-parsed.fields.json")
    fields["message-headers"] = json.dumps(
        [p for p in json.loads(fields["message-headers"]) if p[0] != "Message-Id"]
    )
    files = [("attachment-1", "a.txt", "text/plain", b"hello")]
    assert post_mailgun(client, fields, files).json()["status"] == "stored"
    # A retry is signed anew (fresh token) but carries the same mail.
    assert post_mailgun(client, fields, files).json()["status"] == "duplicate"
    message = Message.objects.get()
    assert message.message_id_synthetic


def test_mailgun_unusable_payload_gets_406_so_mailgun_stops(client):
    response = post_mailgun(client, {"recipient": "support@example-shop.test"})
    assert response.status_code == 406
    assert Message.objects.count() == 0


# --- SendGrid ---------------------------------------------------------------------


def test_sendgrid_parsed_fields_are_rebuilt(client):
    fields = fixture_json("sendgrid-parsed.fields.json")
    files = [("attachment1", "facture-6001.txt", "text/plain", b"Facture 6001\n")]
    assert post_sendgrid(client, fields, files).status_code == 200
    message = Message.objects.get()
    assert message.source == "sendgrid"
    assert message.message_id == "<sg-parsed-1@mail.example.org>"
    assert message.from_name == "Chloé Client"
    assert message.subject == "Commande 6001 : article endommagé"
    assert "arrivé cassé" in message.text_body
    attachment = Attachment.objects.get(message=message)
    assert attachment.filename == "facture-6001.txt"


def test_sendgrid_raw_mode_email_field_is_stored_as_sent(client):
    fields = fixture_json("sendgrid-raw.fields.json")
    assert post_sendgrid(client, fields).status_code == 200
    message = Message.objects.get()
    assert bytes(message.raw) == fields["email"].encode()
    assert "n'est toujours pas arrivée" in message.text_body


def test_sendgrid_field_charsets_are_honoured(client):
    fields = fixture_json("sendgrid-parsed.fields.json")
    fields["charsets"] = json.dumps({"subject": "cp850", "text": "windows-1252"})
    fields["subject"] = "Como usted pidió".encode("cp850")
    fields["text"] = "Test the ESP\u2019s charset handling…".encode("windows-1252")
    fields["headers"] = "From: sender@example.com\nMessage-ID: <sg-cs@example.com>\n"
    assert post_sendgrid(client, fields).status_code == 200
    message = Message.objects.get()
    assert message.subject == "Como usted pidió"
    assert "ESP\u2019s charset handling…" in message.text_body


def test_sendgrid_not_multipart_gets_400(client):
    response = client.generic(
        "POST",
        f"/webhooks/sendgrid/{SENDGRID_URL_SECRET}/",
        b"email=x",
        content_type="text/plain",
    )
    assert response.status_code == 400
    assert Message.objects.count() == 0


# --- Adapters, without HTTP -------------------------------------------------------


def test_adapters_refuse_payloads_without_a_mail():
    with pytest.raises(PayloadError):
        postmark_mail({"MessageStream": "inbound"})
    with pytest.raises(PayloadError):
        mailgun_mail(Form([FormPart("recipient", b"a@b.c")]))
    with pytest.raises(PayloadError):
        sendgrid_mail(Form([FormPart("envelope", b"{}")]))


def test_postmark_data_key_is_read_as_attachment_content():
    payload = fixture_json("postmark-inbound.json")
    payload["Attachments"] = [
        {
            "Name": "t.txt",
            "ContentType": "text/plain",
            "Data": base64.b64encode(b"hello").decode(),
        }
    ]
    raw = postmark_mail(payload).raw
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_content() == "hello"


# --- Real payloads from other projects' test suites (../shared/corpus) ------------


@needs_shared_corpus
@pytest.mark.parametrize(
    "name",
    [
        "postmark-inbound-test-payload.json",
        "postmark-inbound-test-payload-with-raw.json",
        "inbound-basics.json",
        "inbound-with-raw-email.json",
    ],
)
def test_shared_postmark_payloads(client, name):
    payload = json.loads((WEBHOOK_CORPUS / "postmark" / name).read_text())
    response = post_postmark(client, payload)
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    if payload.get("RawEmail"):
        assert bytes(message.raw) == payload["RawEmail"].encode()
    assert message.subject == "Test subject"
    assert message.text_body.strip()


@needs_shared_corpus
@pytest.mark.parametrize(
    "name", ["inbound-basics.fields.json", "inbound-mime.fields.json"]
)
@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_shared_mailgun_payloads(client, name, encoding):
    fields = mailgun_signed(json.loads((WEBHOOK_CORPUS / "mailgun" / name).read_text()))
    if encoding == "multipart":
        body, content_type = multipart(fields)
    else:
        body, content_type = (
            urlencode(fields).encode(),
            "application/x-www-form-urlencoded",
        )
    path = "/webhooks/mailgun/mime" if "mime" in name else "/webhooks/mailgun/"
    response = client.generic("POST", path, body, content_type=content_type)
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    assert message.from_address in {"from+test@example.org", "test@example.org"}
    assert message.text_body.strip()
    if "body-mime" in fields:
        assert bytes(message.raw) == fields["body-mime"].encode()
    else:
        assert message.message_id == "<CAEPk3R+4Zr@mail.example.org>"


@needs_shared_corpus
@pytest.mark.parametrize(
    "name", ["inbound-basics.fields.json", "inbound-mime.fields.json"]
)
def test_shared_sendgrid_payloads(client, name):
    fields = json.loads((WEBHOOK_CORPUS / "sendgrid" / name).read_text())
    assert post_sendgrid(client, fields).status_code == 200
    message = Message.objects.get()
    assert message.text_body.strip()
    assert message.message_id in {
        "<CAEPk3R+4Zr@mail.example.org>",
        "<CAEPk3RKEx@mail.example.org>",
    }


@needs_shared_corpus
def test_shared_sendgrid_charsets_capture(client):
    body = (
        WEBHOOK_CORPUS / "sendgrid" / "inbound-charsets.multipart-form-data"
    ).read_bytes()
    response = client.generic(
        "POST",
        f"/webhooks/sendgrid/{SENDGRID_URL_SECRET}/",
        body,
        content_type="multipart/form-data; boundary=xYzZY",
    )
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    # cp850 subject, windows-1252 text, iso-8859-1 html, UTF-8 from: all decoded.
    assert message.subject == "Como usted pidió"
    assert message.from_name == "Opérateur de test"
    assert "ESP\u2019s inbound charset handling…" in message.text_body
    assert "¿Esto se ve como esperabas?" in message.html_body


# --- Fuzzing the adapters: hostile fields never crash a rebuild ---------------------

FIELD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["\r\nBcc: x@y", "=?utf-8?B?!!?=", "<<>>", "a@b", "\x00", "\ud800"]
    ),
)


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    headers=st.lists(
        st.fixed_dictionaries({"Name": FIELD_TEXT, "Value": FIELD_TEXT}), max_size=6
    ),
    text=FIELD_TEXT,
    html=FIELD_TEXT,
    sender=FIELD_TEXT,
    attachments=st.lists(
        st.fixed_dictionaries(
            {
                "Name": FIELD_TEXT,
                "ContentType": FIELD_TEXT,
                "Content": st.binary(max_size=30).map(
                    lambda b: base64.b64encode(b).decode()
                ),
                "ContentID": FIELD_TEXT,
            }
        ),
        max_size=3,
    ),
)
def test_postmark_rebuild_never_raises(headers, text, html, sender, attachments):
    payload = {
        "From": sender or "x@example.com",
        "Headers": headers,
        "TextBody": text,
        "HtmlBody": html,
        "Attachments": attachments,
    }
    raw = postmark_mail(payload).raw
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["X-Triage-Rebuilt"]
    assert b"\r\nBcc:" not in raw.split(b"\r\n\r\n", 1)[0]
