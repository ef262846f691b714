"""Credentials and signatures, compared in constant time (`hmac.compare_digest`).

Every check answers False when its secret is unset, so an unconfigured endpoint
refuses everything instead of accepting everything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from django.http import HttpRequest


def basic_auth_ok(request: HttpRequest, expected: str) -> bool:
    """HTTP basic auth against `user:password` (Postmark and SendGrid put it in the
    webhook URL, `https://user:password@host/...`)."""
    if not expected or ":" not in expected:
        return False
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, expected.encode())


def secret_ok(given: str, expected: str) -> bool:
    if not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def hmac_sha256_hex(key: str, data: bytes) -> str:
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()


def raw_signature_ok(secret: str, body: bytes, header: str) -> bool:
    """`X-Triage-Signature: sha256=<hex>` over the exact body, as GitHub signs."""
    if not secret:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme != "sha256" or not given:
        return False
    expected = hmac_sha256_hex(secret, body)
    return hmac.compare_digest(given.lower().encode(), expected.encode())


def mailgun_signature_problem(
    *,
    signing_key: str,
    timestamp: str,
    token: str,
    signature: str,
    now: float,
    tolerance: int,
) -> str:
    """Why a Mailgun request is not authentic, or '' when it is.

    Mailgun signs `timestamp + token` with HMAC-SHA256 under the webhook signing
    key; the timestamp bounds how long a captured request could be replayed (the
    token cache covers the window itself).
    """
    if not signing_key:
        return "MAILGUN_WEBHOOK_SIGNING_KEY unset"
    if not (timestamp and token and signature):
        return "signature fields missing"
    expected = hmac_sha256_hex(signing_key, f"{timestamp}{token}".encode())
    if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
        return "bad signature"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "bad timestamp"
    if abs(now - sent_at) > tolerance:
        return f"timestamp {now - sent_at:.0f}s away from now"
    return ""
