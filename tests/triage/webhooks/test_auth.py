"""DESIGN §7 items 1 and 2: who may post, and nothing written for anyone else."""

from __future__ import annotations

import json
import time

import pytest

from tests.factories import make_eml
from tests.triage.webhooks.conftest import (
    SENDGRID_URL_SECRET,
    Queue,
    basic_auth,
    fixture_json,
    mailgun_signed,
    multipart,
    raw_signature,
)
from triage.models import Message, Ticket, WebhookReplay
from triage.webhooks import auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def capture(published) -> Queue:
    """The triage tasks really published to Redis (see `client`)."""
    return published


@pytest.fixture
def client(client, django_capture_on_commit_callbacks):
    """After each request its on-commit work runs, as the commit of a real request
    would run it (the test's transaction never commits): a stored mail publishes
    its triage task, which `capture` counts in Redis. Work registered in a
    savepoint that was rolled back is dropped, as a real rollback drops it."""
    generic = client.generic

    def committed(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return generic(*args, **kwargs)

    client.generic = committed
    return client


def assert_nothing_written(capture) -> None:
    assert Message.objects.count() == 0
    assert Ticket.objects.count() == 0
    assert WebhookReplay.objects.count() == 0
    assert len(capture) == 0


def assert_stored_once(response, capture) -> None:
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "stored"
    assert Message.objects.count() == 1
    assert capture.message_ids() == [Message.objects.get().pk]


# --- raw MIME: HMAC over the body ---------------------------------------------


def post_mime(client, body: bytes, **headers):
    return client.generic(
        "POST", "/webhooks/mime/", body, content_type="message/rfc822", **headers
    )


def test_mime_valid_signature_is_accepted(client, capture):
    body = make_eml()
    response = post_mime(client, body, **raw_signature(body))
    assert_stored_once(response, capture)
    message = Message.objects.get()
    assert bytes(message.raw) == body and message.source == "mime"


def test_mime_flipped_body_byte_is_refused(client, capture):
    body = make_eml()
    headers = raw_signature(body)
    tampered = bytearray(body)
    tampered[len(tampered) // 2] ^= 0x01
    response = post_mime(client, bytes(tampered), **headers)
    assert response.status_code == 401
    assert_nothing_written(capture)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # missing header
        {"HTTP_X_TRIAGE_SIGNATURE": ""},
        {"HTTP_X_TRIAGE_SIGNATURE": "sha1=abc"},
        {"HTTP_X_TRIAGE_SIGNATURE": "sha256=" + "0" * 64},
    ],
)
def test_mime_missing_or_bad_header_is_refused(client, capture, headers):
    response = post_mime(client, make_eml(), **headers)
    assert response.status_code == 401
    assert_nothing_written(capture)


def test_mime_wrong_key_is_refused(client, capture):
    body = make_eml()
    response = post_mime(client, body, **raw_signature(body, secret="not-the-key"))
    assert response.status_code == 401
    assert_nothing_written(capture)


def test_mime_unset_secret_refuses_even_a_matching_signature(client, capture, settings):
    settings.TRIAGE_WEBHOOK_SECRET = ""
    body = make_eml()
    response = post_mime(client, body, **raw_signature(body, secret=""))
    assert response.status_code == 401
    assert_nothing_written(capture)


# --- Postmark: basic auth -------------------------------------------------------


def post_postmark(client, payload: dict, **headers):
    return client.generic(
        "POST",
        "/webhooks/postmark/",
        json.dumps(payload).encode(),
        content_type="application/json",
        **headers,
    )


def test_postmark_basic_auth_accepted(client, capture):
    response = post_postmark(
        client, fixture_json("postmark-inbound.json"), **basic_auth()
    )
    assert_stored_once(response, capture)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic_auth("inbound:wrong"),
        basic_auth("someone:correct-horse-battery"),
        {"HTTP_AUTHORIZATION": "Basic !!!not-base64"},
        {"HTTP_AUTHORIZATION": "Bearer correct-horse-battery"},
    ],
)
def test_postmark_bad_credentials_refused(client, capture, headers):
    response = post_postmark(client, fixture_json("postmark-inbound.json"), **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic ")
    assert_nothing_written(capture)


def test_postmark_unset_credentials_refuse_all(client, capture, settings):
    settings.INBOUND_BASIC_AUTH = ""
    response = post_postmark(
        client, fixture_json("postmark-inbound.json"), **basic_auth(":")
    )
    assert response.status_code == 401
    assert_nothing_written(capture)


# --- Mailgun: HMAC of timestamp + token, tolerance, replay cache ----------------


def post_mailgun(client, fields: dict[str, str], path: str = "/webhooks/mailgun/"):
    body, content_type = multipart(fields)
    return client.generic("POST", path, body, content_type=content_type)


def test_mailgun_valid_signature_accepted(client, capture):
    fields = mailgun_signed(fixture_json("mailgun-parsed.fields.json"))
    response = post_mailgun(client, fields)
    assert_stored_once(response, capture)
    assert WebhookReplay.objects.filter(
        provider="mailgun", token=fields["token"]
    ).exists()


def test_mailgun_urlencoded_is_accepted_too(client, capture):
    from urllib.parse import urlencode

    fields = mailgun_signed(fixture_json("mailgun-mime.fields.json"))
    response = client.generic(
        "POST",
        "/webhooks/mailgun/mime",
        urlencode(fields).encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert_stored_once(response, capture)


@pytest.mark.parametrize("field", ["signature", "token", "timestamp"])
def test_mailgun_tampered_signature_fields_refused(client, capture, field):
    fields = mailgun_signed(fixture_json("mailgun-parsed.fields.json"))
    value = fields[field]
    fields[field] = value[:-1] + ("0" if value[-1] != "0" else "1")
    response = post_mailgun(client, fields)
    assert response.status_code == 401
    assert_nothing_written(capture)


def test_mailgun_wrong_key_refused(client, capture):
    fields = mailgun_signed(fixture_json("mailgun-parsed.fields.json"), key="other")
    response = post_mailgun(client, fields)
    assert response.status_code == 401
    assert_nothing_written(capture)


def test_mailgun_missing_signature_refused(client, capture):
    fields = mailgun_signed(fixture_json("mailgun-parsed.fields.json"))
    del fields["signature"]
    response = post_mailgun(client, fields)
    assert response.status_code == 401
    assert_nothing_written(capture)


@pytest.mark.parametrize("skew", [-301, 301, -86400])
def test_mailgun_stale_or_future_timestamp_refused(client, capture, skew):
    fields = mailgun_signed(
        fixture_json("mailgun-parsed.fields.json"), timestamp=int(time.time()) + skew
    )
    response = post_mailgun(client, fields)
    assert response.status_code == 401
    assert_nothing_written(capture)


def test_mailgun_timestamp_inside_the_window_accepted(client, capture):
    fields = mailgun_signed(
        fixture_json("mailgun-parsed.fields.json"), timestamp=int(time.time()) - 290
    )
    assert_stored_once(post_mailgun(client, fields), capture)


def test_mailgun_replayed_token_refused(client, capture):
    fields = mailgun_signed(fixture_json("mailgun-parsed.fields.json"))
    assert post_mailgun(client, fields).status_code == 200
    replay = post_mailgun(client, fields)
    assert replay.status_code == 401
    assert Message.objects.count() == 1
    assert len(capture) == 1


def test_mailgun_replay_with_other_payload_same_token_refused(client, capture):
    fields = mailgun_signed(fixture_json("mailgun-parsed.fields.json"))
    assert post_mailgun(client, fields).status_code == 200
    other = {**fixture_json("mailgun-mime.fields.json")}
    other.update({k: fields[k] for k in ("timestamp", "token", "signature")})
    assert post_mailgun(client, other, "/webhooks/mailgun/mime").status_code == 401
    assert Message.objects.count() == 1


def test_mailgun_unset_key_refuses_all(client, capture, settings):
    settings.MAILGUN_WEBHOOK_SIGNING_KEY = ""
    fields = mailgun_signed(fixture_json("mailgun-parsed.fields.json"), key="")
    assert post_mailgun(client, fields).status_code == 401
    assert_nothing_written(capture)


def test_mailgun_unreadable_form_refused(client, capture):
    response = client.generic(
        "POST", "/webhooks/mailgun/", b"{}", content_type="application/json"
    )
    assert response.status_code == 401
    assert_nothing_written(capture)


def test_mailgun_old_tokens_are_pruned(client, capture, settings):
    from datetime import timedelta

    from django.utils import timezone

    old = WebhookReplay.objects.create(
        provider="mailgun",
        token="old",
        seen_at=timezone.now() - timedelta(seconds=3 * 300),
    )
    fields = mailgun_signed(fixture_json("mailgun-parsed.fields.json"))
    assert post_mailgun(client, fields).status_code == 200
    assert not WebhookReplay.objects.filter(pk=old.pk).exists()
    assert WebhookReplay.objects.filter(token=fields["token"]).exists()


# --- SendGrid: basic auth or a URL secret ---------------------------------------


def post_sendgrid(client, path: str = "/webhooks/sendgrid/", **headers):
    body, content_type = multipart(fixture_json("sendgrid-raw.fields.json"))
    return client.generic("POST", path, body, content_type=content_type, **headers)


def test_sendgrid_basic_auth_accepted(client, capture):
    assert_stored_once(post_sendgrid(client, **basic_auth()), capture)


def test_sendgrid_url_secret_accepted(client, capture):
    response = post_sendgrid(client, f"/webhooks/sendgrid/{SENDGRID_URL_SECRET}/")
    assert_stored_once(response, capture)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/webhooks/sendgrid/", {}),
        ("/webhooks/sendgrid/", basic_auth("inbound:nope")),
        ("/webhooks/sendgrid/not-the-secret/", {}),
        (f"/webhooks/sendgrid/{SENDGRID_URL_SECRET}x/", {}),
    ],
)
def test_sendgrid_bad_credentials_refused(client, capture, path, headers):
    response = post_sendgrid(client, path, **headers)
    assert response.status_code == 401
    assert_nothing_written(capture)


def test_sendgrid_unset_url_secret_refuses_all(client, capture, settings):
    settings.SENDGRID_WEBHOOK_URL_SECRET = ""
    response = post_sendgrid(client, "/webhooks/sendgrid/x/")
    assert response.status_code == 401
    assert_nothing_written(capture)


# --- Everything else --------------------------------------------------------------


def test_unknown_provider_refused(client, capture):
    body = make_eml()
    response = client.generic(
        "POST", "/webhooks/mandrill/", body, content_type="message/rfc822"
    )
    assert response.status_code == 401
    assert_nothing_written(capture)


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/mime/",
        "/webhooks/postmark/",
        "/webhooks/mailgun/",
        "/webhooks/sendgrid/",
    ],
)
def test_get_is_not_allowed(client, path):
    assert client.get(path).status_code == 405


def test_trailing_slash_is_optional(client, capture):
    body = make_eml()
    response = client.generic(
        "POST",
        "/webhooks/mime",
        body,
        content_type="message/rfc822",
        **raw_signature(body),
    )
    assert_stored_once(response, capture)


def test_mailgun_signature_problem_messages():
    common = {"signing_key": "k", "now": 1000.0, "tolerance": 300}
    assert auth.mailgun_signature_problem(
        timestamp="", token="t", signature="s", **common
    )
    sig = auth.hmac_sha256_hex("k", b"1000t")
    assert not auth.mailgun_signature_problem(
        timestamp="1000", token="t", signature=sig, **common
    )
    assert "bad signature" in auth.mailgun_signature_problem(
        timestamp="1000", token="t", signature=sig.upper()[:-1], **common
    )
    bad_ts = auth.hmac_sha256_hex("k", b"abct")
    assert "timestamp" in auth.mailgun_signature_problem(
        timestamp="abc", token="t", signature=bad_ts, **common
    )
