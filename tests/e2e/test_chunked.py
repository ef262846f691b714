"""Issue 10 item 4 (DESIGN §7.22): any framing of a request body is read whole, up
to the cap, through a real gunicorn serving the real WSGI app on the test database.

Django reads a request without Content-Length as empty; gunicorn de-chunks a
`Transfer-Encoding: chunked` body into `wsgi.input`, and the webhooks read it there.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from django.db import connection

from tests.ci import missing
from tests.conftest import REPO
from tests.e2e.processes import database_url, free_port
from tests.factories import make_eml
from triage.models import Message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "chunked-raw-mime-secret"
BASIC = "inbound:chunked-basic-password"
CAP = 64 * 1024


@pytest.fixture
def gunicorn(tmp_path) -> Iterator[int]:
    if connection.vendor != "postgresql":
        missing("needs PostgreSQL (DATABASE_URL)")
    import os

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "TRIAGE_WEBHOOK_SECRET": SECRET,
        "INBOUND_BASIC_AUTH": BASIC,
        "TRIAGE_WEBHOOK_MAX_BYTES": str(CAP),
        "TRIAGE_MEDIA_ROOT": str(tmp_path / "media"),
        # Tasks are published to a broker nobody reads: only the storing counts.
        "CELERY_KEY_PREFIX": f"triage-chunked-{port}:",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "triage.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--error-logfile",
            str(tmp_path / "gunicorn.log"),
        ],
        cwd=REPO,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def post_chunked(
    port: int, path: str, body: bytes, headers: dict[str, str], chunk: int = 1000
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    pieces = (body[i : i + chunk] for i in range(0, len(body), chunk))
    conn.request(
        "POST",
        path,
        body=pieces,
        headers={**headers, "Transfer-Encoding": "chunked"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "message/rfc822", "X-Triage-Signature": f"sha256={digest}"}


def test_a_chunked_signed_raw_mime_post_is_stored(gunicorn):
    raw = make_eml(message_id="<chunked-1@example.com>", body="Parcel 12 lost. " * 300)
    status, data = post_chunked(gunicorn, "/webhooks/mime/", raw, signed(raw))
    assert status == 200, data
    message = Message.objects.get(message_id="<chunked-1@example.com>")
    assert bytes(message.raw) == raw


def test_a_chunked_postmark_post_is_stored(gunicorn):
    import base64

    payload = {
        "MessageID": "pm-chunked-1",
        "From": "ada@example.com",
        "FromFull": {"Email": "ada@example.com", "Name": "Ada"},
        "To": "support@example-shop.test",
        "Subject": "Chunked",
        "TextBody": "Sent with chunked framing.",
        "Headers": [{"Name": "Message-ID", "Value": "<pm-chunked@example.com>"}],
    }
    token = base64.b64encode(BASIC.encode()).decode()
    status, data = post_chunked(
        gunicorn,
        "/webhooks/postmark/",
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", "Authorization": f"Basic {token}"},
    )
    assert status == 200, data
    assert Message.objects.filter(source="postmark").count() == 1


def test_a_chunked_body_over_the_cap_gets_413(gunicorn):
    raw = make_eml(message_id="<chunked-big@example.com>", body="x" * (CAP + 10))
    status, _ = post_chunked(gunicorn, "/webhooks/mime/", raw, signed(raw), 8192)
    assert status == 413
    assert Message.objects.count() == 0


def test_content_length_framing_still_works(gunicorn):
    raw = make_eml(message_id="<framed-1@example.com>")
    conn = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=30)
    conn.request("POST", "/webhooks/mime/", body=raw, headers=signed(raw))
    assert conn.getresponse().status == 200
    conn.close()
    assert Message.objects.filter(message_id="<framed-1@example.com>").exists()
