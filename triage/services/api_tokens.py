"""API tokens: create (the secret is returned once), revoke, authenticate."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from triage.api.models import ApiToken

TOKEN_PREFIX = "trg_"  # noqa: S105 - a visible label, not a secret
# last_used_at is written at most this often per token: a busy script must not
# turn every read into a write.
PREFIX_CHARS = len(TOKEN_PREFIX) + 8
LAST_USED_GRANULARITY = timedelta(minutes=1)


class TokenInvalid(Exception):
    """Unknown, revoked, or its user is deactivated."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, user: Any, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; the second value is the secret, shown once."""
    prefix = TOKEN_PREFIX + secrets.token_hex(4)
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100] or "API token",
        prefix=prefix,
        digest=_digest(secret),
    )
    return token, secret


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(secret: str) -> ApiToken:
    """The live token for `secret`, or TokenInvalid. Compared in constant time."""
    # `trg_` + 8 hex digits, then `_` and the secret part (which may hold `_`).
    prefix, sep, rest = (
        secret[:PREFIX_CHARS],
        secret[PREFIX_CHARS:][:1],
        secret[PREFIX_CHARS + 1 :],
    )
    if not prefix.startswith(TOKEN_PREFIX) or sep != "_" or not rest:
        raise TokenInvalid("Malformed token.")
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.digest, _digest(secret)):
        raise TokenInvalid("Unknown token.")
    if token.revoked_at is not None:
        raise TokenInvalid("This token was revoked.")
    if not token.user.is_active:
        raise TokenInvalid("This token's user is deactivated.")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        with transaction.atomic():
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
