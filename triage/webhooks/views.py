"""Thin webhook views: authenticate, cap, adapt the payload, call one service.

Status codes follow what each provider does with them (checked in their docs):
- 200: stored, or a duplicate of a stored mail (the provider must stop retrying).
- 401: not authenticated, nothing written. Unknown providers get it too.
- 413: body over TRIAGE_WEBHOOK_MAX_BYTES, refused before parsing.
- Authentic but unusable payload, answered so the provider stops retrying:
  Postmark 403 ("If we receive a 403 Forbidden response, retries stop
  immediately", Postmark support: understanding inbound webhook retries), Mailgun
  406 ("Mailgun will determine the POST is rejected and not retry", Mailgun docs:
  receiving messages via HTTP / automatic retries), SendGrid 400 (Inbound Parse
  "retries any POSTs that respond with a 5XX status", nothing else), raw MIME 400.
- 503 with Retry-After when the database is unreachable: every provider retries
  (Postmark ~10 times over 10.5 h, Mailgun for 8 h, SendGrid for 3 days).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from triage.services.ingest import IngestResult
from triage.webhooks import auth
from triage.webhooks.body import BadForm, BodyTooLarge, parse_form, read_body
from triage.webhooks.providers import (
    PayloadError,
    mailgun_mail,
    postmark_mail,
    sendgrid_mail,
)
from triage.webhooks.services import (
    ReplayedToken,
    webhook_mail_receive,
    webhook_token_seen,
)

logger = logging.getLogger(__name__)

MAILGUN_SIGNATURE_FIELDS = frozenset({"timestamp", "token", "signature"})

View = Callable[..., HttpResponse]


def webhook(view: View) -> View:
    """CSRF-exempt (providers hold no cookie), POST only, and the shared answers."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BodyTooLarge as exc:
            logger.warning(
                "Webhook %s refused: body of %s bytes over the cap of %s",
                _where(request),
                exc.args[0],
                settings.TRIAGE_WEBHOOK_MAX_BYTES,
            )
            return JsonResponse({"error": "request body too large"}, status=413)
        except (OperationalError, InterfaceError):
            logger.exception("Webhook %s: database unavailable", _where(request))
            response = JsonResponse({"error": "temporarily unavailable"}, status=503)
            response["Retry-After"] = "60"
            return response

    return csrf_exempt(require_POST(wrapper))


def _where(request: HttpRequest) -> str:
    # The route's name, not the path: SendGrid's path carries its secret.
    match = request.resolver_match
    return match.url_name if match and match.url_name else "webhook"


def _unauthorized(request: HttpRequest, why: str, *, basic: bool = False):
    logger.warning(
        "Webhook %s refused (401): %s, from %s",
        _where(request),
        why,
        request.META.get("REMOTE_ADDR", "?"),
    )
    response = JsonResponse({"error": "unauthorized"}, status=401)
    if basic:
        response["WWW-Authenticate"] = 'Basic realm="triage webhooks", charset="UTF-8"'
    return response


def _unusable(request: HttpRequest, why: str, status: int) -> HttpResponse:
    logger.warning(
        "Webhook %s: unusable payload (%s): %s", _where(request), status, why
    )
    return JsonResponse({"error": "unusable payload"}, status=status)


def _stored(result: IngestResult) -> HttpResponse:
    return JsonResponse(
        {
            "status": "stored" if result.created else "duplicate",
            "message": result.message.pk,
        }
    )


@webhook
def postmark(request: HttpRequest) -> HttpResponse:
    if not auth.basic_auth_ok(request, settings.INBOUND_BASIC_AUTH):
        return _unauthorized(request, "basic auth", basic=True)
    body = read_body(request, settings.TRIAGE_WEBHOOK_MAX_BYTES)
    try:
        mail = postmark_mail(json.loads(body))
    except (ValueError, PayloadError) as exc:  # JSONDecodeError is a ValueError
        return _unusable(request, str(exc), 403)
    result = webhook_mail_receive(
        mail.raw, source="postmark", provider_message_id=mail.provider_message_id
    )
    return _stored(result)


@webhook
def mailgun(request: HttpRequest) -> HttpResponse:
    body = read_body(request, settings.TRIAGE_WEBHOOK_MAX_BYTES)
    content_type = request.META.get("CONTENT_TYPE", "")
    try:
        # Before authentication only the three signature fields are kept, and the
        # part-count cap stops a flood of tiny parts at the first thousand.
        form = parse_form(content_type, body, only=MAILGUN_SIGNATURE_FIELDS)
    except BadForm as exc:
        # The signature travels inside the form: unreadable means unauthenticated.
        return _unauthorized(request, f"unreadable form ({exc})")
    token = form.text("token")
    tolerance = settings.TRIAGE_WEBHOOK_TOLERANCE_SECONDS
    problem = auth.mailgun_signature_problem(
        signing_key=settings.MAILGUN_WEBHOOK_SIGNING_KEY,
        timestamp=form.text("timestamp"),
        token=token,
        signature=form.text("signature"),
        now=time.time(),
        tolerance=tolerance,
    )
    if problem:
        return _unauthorized(request, problem)
    if webhook_token_seen(provider="mailgun", token=token):
        return _unauthorized(request, "token replayed")
    try:
        mail = mailgun_mail(parse_form(content_type, body))
    except (BadForm, PayloadError) as exc:
        return _unusable(request, str(exc), 406)
    try:
        result = webhook_mail_receive(
            mail.raw,
            source="mailgun",
            replay_token=token,
            replay_window=timedelta(seconds=2 * tolerance),
        )
    except ReplayedToken:
        return _unauthorized(request, "token replayed")
    return _stored(result)


@webhook
def sendgrid(request: HttpRequest, secret: str | None = None) -> HttpResponse:
    if secret is not None:
        if not auth.secret_ok(secret, settings.SENDGRID_WEBHOOK_URL_SECRET):
            return _unauthorized(request, "URL secret")
    elif not auth.basic_auth_ok(request, settings.INBOUND_BASIC_AUTH):
        return _unauthorized(request, "basic auth", basic=True)
    body = read_body(request, settings.TRIAGE_WEBHOOK_MAX_BYTES)
    try:
        mail = sendgrid_mail(parse_form(request.META.get("CONTENT_TYPE", ""), body))
    except (BadForm, PayloadError) as exc:
        return _unusable(request, str(exc), 400)
    return _stored(webhook_mail_receive(mail.raw, source="sendgrid"))


@webhook
def raw_mime(request: HttpRequest) -> HttpResponse:
    body = read_body(request, settings.TRIAGE_WEBHOOK_MAX_BYTES)
    signature = request.META.get("HTTP_X_TRIAGE_SIGNATURE", "")
    if not auth.raw_signature_ok(settings.TRIAGE_WEBHOOK_SECRET, body, signature):
        return _unauthorized(request, "X-Triage-Signature")
    if not body.strip():
        return _unusable(request, "empty body", 400)
    return _stored(webhook_mail_receive(body, source="mime"))


@webhook
def unknown(request: HttpRequest, provider: str) -> HttpResponse:
    return _unauthorized(request, f"unknown provider {provider[:40]!r}")
