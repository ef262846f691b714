"""DESIGN §7 items 2, 3 and 5 with real commits (PostgreSQL) and real publishes
(the Redis queue under this run's key prefix)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from tests.ci import NO_POSTGRES, need
from tests.factories import make_eml
from tests.triage.webhooks.conftest import (
    fixture_json,
    mailgun_signed,
    multipart,
    raw_signature,
)
from triage.models import Message, WebhookReplay


@pytest.fixture
def postgres(transactional_db):
    need(connection.vendor == "postgresql", NO_POSTGRES)


def post_mime(body: bytes):
    return Client().generic(
        "POST",
        "/webhooks/mime/",
        body,
        content_type="message/rfc822",
        **raw_signature(body),
    )


def race(count: int, request) -> list[int]:
    """`count` threads fire `request()` at the same moment; their status codes."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait(timeout=30)
            statuses.append(request().status_code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return statuses


def test_concurrent_posts_of_one_message_id_give_one_row_and_one_task(
    postgres, published
):
    body = make_eml(message_id="<race-webhook@example.com>")
    statuses = race(2, lambda: post_mime(body))
    assert statuses == [200, 200]
    message = Message.objects.get(message_id="<race-webhook@example.com>")
    assert published.message_ids() == [message.pk]


def test_many_concurrent_posts_still_one_row_and_one_task(postgres, published):
    body = make_eml(message_id="<race-8@example.com>")
    assert race(8, lambda: post_mime(body)) == [200] * 8
    assert Message.objects.count() == 1
    assert len(published) == 1


def test_concurrent_replays_of_one_mailgun_token_accept_one(postgres, published):
    fields = mailgun_signed(fixture_json("mailgun-mime.fields.json"))
    body, content_type = multipart(fields)

    def post():
        return Client().generic(
            "POST", "/webhooks/mailgun/mime", body, content_type=content_type
        )

    assert sorted(race(4, post)) == [200, 401, 401, 401]
    assert Message.objects.count() == 1
    assert WebhookReplay.objects.count() == 1
    assert len(published) == 1


def test_sequential_replays_publish_once(postgres, published):
    body = make_eml(message_id="<again@example.com>")
    statuses = [post_mime(body).json()["status"] for _ in range(3)]
    assert statuses == ["stored", "duplicate", "duplicate"]
    assert len(published) == 1


def test_exception_after_insert_publishes_no_task(postgres, published, monkeypatch):
    def explode(message, parsed):
        assert Message.objects.filter(pk=message.pk).exists()  # inserted...
        raise RuntimeError("disk full while storing attachments")  # ...then boom

    monkeypatch.setattr("triage.services.ingest._store_attachments", explode)
    client = Client(raise_request_exception=False)
    body = make_eml(message_id="<boom@example.com>")
    response = client.generic(
        "POST",
        "/webhooks/mime/",
        body,
        content_type="message/rfc822",
        **raw_signature(body),
    )
    # A 5xx: every provider retries it, and the retry finds nothing half-stored.
    assert response.status_code == 500
    assert Message.objects.count() == 0
    assert len(published) == 0


def test_mailgun_token_survives_a_failed_ingest(postgres, published, monkeypatch):
    """The token is spent in the ingest's transaction: a retry after a crash works."""
    fields = mailgun_signed(fixture_json("mailgun-mime.fields.json"))
    body, content_type = multipart(fields)
    client = Client(raise_request_exception=False)

    def post():
        return client.generic(
            "POST", "/webhooks/mailgun/mime", body, content_type=content_type
        )

    with monkeypatch.context() as patch:
        patch.setattr(
            "triage.services.ingest._store_attachments",
            lambda *a: (_ for _ in ()).throw(RuntimeError("crash")),
        )
        assert post().status_code == 500
    assert WebhookReplay.objects.count() == 0
    assert post().status_code == 200
    assert Message.objects.count() == 1
    assert len(published) == 1
