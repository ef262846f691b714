"""Webhook test helpers: provider secrets, signing, multipart bodies, real publishes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.ci import needs
from tests.conftest import NO_SHARED_CORPUS, SHARED_CORPUS
from tests.triage.conftest import Queue  # noqa: F401 - the webhook tests import it here

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_CORPUS = SHARED_CORPUS / "webhooks"
needs_shared_corpus = needs(WEBHOOK_CORPUS.exists(), NO_SHARED_CORPUS)

BASIC_AUTH = "inbound:correct-horse-battery"
MAILGUN_KEY = "mailgun-signing-key-for-tests"
RAW_SECRET = "raw-mime-secret-for-tests"
SENDGRID_URL_SECRET = "sendgrid-url-secret-for-tests"


@pytest.fixture(autouse=True)
def _webhook_secrets(settings):
    settings.INBOUND_BASIC_AUTH = BASIC_AUTH
    settings.MAILGUN_WEBHOOK_SIGNING_KEY = MAILGUN_KEY
    settings.TRIAGE_WEBHOOK_SECRET = RAW_SECRET
    settings.SENDGRID_WEBHOOK_URL_SECRET = SENDGRID_URL_SECRET


def fixture_json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def basic_auth(credentials: str = BASIC_AUTH) -> dict[str, str]:
    token = base64.b64encode(credentials.encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def mailgun_signed(
    fields: dict[str, str],
    *,
    key: str = MAILGUN_KEY,
    timestamp: int | None = None,
    token: str | None = None,
) -> dict[str, str]:
    """The fields with Mailgun's timestamp, token and HMAC-SHA256 signature."""
    timestamp_s = str(int(time.time()) if timestamp is None else timestamp)
    token = token or secrets.token_hex(25)
    signature = hmac.new(
        key.encode(), f"{timestamp_s}{token}".encode(), hashlib.sha256
    ).hexdigest()
    return {**fields, "timestamp": timestamp_s, "token": token, "signature": signature}


def raw_signature(body: bytes, secret: str = RAW_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"HTTP_X_TRIAGE_SIGNATURE": f"sha256={digest}"}


def multipart(
    fields: dict[str, str | bytes],
    files: Iterable[tuple[str, str, str, bytes]] = (),
    *,
    boundary: str = "xYzZY",
) -> tuple[bytes, str]:
    """multipart/form-data as providers send it (CRLF, one part per field)."""
    chunks: list[bytes] = []
    for name, value in fields.items():
        data = value.encode() if isinstance(value, str) else value
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
        chunks.append(f"{head}\r\n".encode() + data + b"\r\n")
    for name, filename, content_type, data in files:
        chunks.append(
            (
                f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"
