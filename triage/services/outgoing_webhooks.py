"""Outgoing webhooks: record an event per subscription, deliver it signed.

Signature as Stripe's: header `Triage-Signature: t=<unix>,v1=<hex>` where
v1 = HMAC-SHA256(secret, f"{t}.{body}"). The body's `id` (also the
`Triage-Event-Id` header) is the receiver's dedup key; a delivery that got a 2xx
is never sent again.

SSRF: the target's host is resolved once, every address must be public (unless
TRIAGE_WEBHOOKS_ALLOW_PRIVATE), and the connection goes to that address with the
original Host header and TLS server name. Written on http.client because that
pinning (connect to an IP, verify the certificate for the name) is a few lines
there and needs transport adapters with requests/urllib3, which are no
dependency of the web process.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
import uuid
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from triage import queue
from triage.api.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

DELIVER_WEBHOOK = "mail.deliver_webhook"
SIGNATURE_HEADER = "Triage-Signature"
EVENT_ID_HEADER = "Triage-Event-Id"


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"
    ALREADY_DELIVERED = "already_delivered"
    IN_FLIGHT = "in_flight"  # another task holds the row
    FAILED = "failed"  # worth a retry
    REFUSED = "refused"  # unsafe target: never retried
    DISABLED = "disabled"
    GONE = "gone"


class UnsafeTarget(Exception):
    """The URL resolves to an address webhooks may not reach."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def webhook_emit(event: str, data: dict[str, Any]) -> list[int]:
    """Record `event` for each active subscription to it; delivery tasks are
    published after commit. Returns the delivery ids."""
    event_id = uuid.uuid4()
    ids = []
    for subscription in WebhookSubscription.objects.filter(is_active=True):
        if event not in subscription.events and event != "webhook.test":
            continue
        delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            event_id=event_id,
            event=event,
            payload=json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
        )
        ids.append(delivery.pk)
        queue.publish_on_commit(DELIVER_WEBHOOK, [delivery.pk])
    return ids


def webhook_send_test(*, subscription: WebhookSubscription) -> int:
    """The admin's "send test event": one delivery to this subscription only."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            event_id=uuid.uuid4(),
            event=WebhookSubscription.Event.TEST,
            payload={"message": "A test event from triage."},
        )
        queue.publish_on_commit(DELIVER_WEBHOOK, [delivery.pk])
    return delivery.pk


def resolve_public(host: str, port: int) -> str:
    """The one address to connect to, or UnsafeTarget."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeTarget(f"{host} does not resolve: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not settings.TRIAGE_WEBHOOKS_ALLOW_PRIVATE:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise UnsafeTarget(f"{host} resolves to a non-public address {ip}")
    return addresses[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a fixed address, the certificate checked for the URL's host."""

    def __init__(self, host: str, address: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _tls_context() -> ssl.SSLContext:
    # Certificate and host name checked as for any HTTPS client; an internal CA
    # replaces the system's store when configured.
    ca_file = settings.TRIAGE_WEBHOOKS_CA_FILE or None
    return ssl.create_default_context(cafile=ca_file)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget(f"Not an http(s) URL: {url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_public(parts.hostname, port)
    timeout = settings.TRIAGE_WEBHOOKS_TIMEOUT_SECONDS
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(
            parts.hostname,
            address,
            port=port,
            timeout=timeout,
            context=_tls_context(),
        )
    else:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{port}"
    try:
        connection.request("POST", path, body=body, headers={**headers, "Host": host})
        response = connection.getresponse()
        response.read(64 * 1024)
        return response.status
    finally:
        connection.close()


def webhook_deliver(delivery_id: int) -> DeliveryOutcome:
    """POST one delivery, at most once successfully.

    The row is locked for the request (short timeout): a second task for the same
    delivery skips it rather than sending it again.
    """
    with transaction.atomic():
        delivery = (
            # The delivery's row only (`of`): locking the joined subscription
            # too would make every other delivery to it skip as in flight.
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            exists = WebhookDelivery.objects.filter(pk=delivery_id).exists()
            return DeliveryOutcome.IN_FLIGHT if exists else DeliveryOutcome.GONE
        if delivery.status == WebhookDelivery.Status.DELIVERED:
            return DeliveryOutcome.ALREADY_DELIVERED
        subscription = delivery.subscription
        if not subscription.is_active:
            return DeliveryOutcome.DISABLED
        body = json.dumps(
            {
                "id": str(delivery.event_id),
                "type": delivery.event,
                "created": int(delivery.created_at.timestamp()),
                "data": delivery.payload,
            },
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "triage-webhooks/1",
            EVENT_ID_HEADER: str(delivery.event_id),
            SIGNATURE_HEADER: sign(subscription.secret, body, int(time.time())),
        }
        delivery.attempts += 1
        code: int | None = None
        try:
            status = _post(subscription.url, body, headers)
        except UnsafeTarget as exc:
            delivery.status = WebhookDelivery.Status.REFUSED
            delivery.last_error = str(exc)
            delivery.save()
            _log_attempt(delivery, None, str(exc))
            logger.warning("Webhook %s refused: %s", delivery.pk, exc)
            return DeliveryOutcome.REFUSED
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            code = status
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        delivery.response_code = code
        delivery.last_error = error
        _log_attempt(delivery, code, error)
        if not error:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.save()
            WebhookSubscription.objects.filter(pk=subscription.pk).exclude(
                consecutive_failures=0
            ).update(consecutive_failures=0)
            return DeliveryOutcome.DELIVERED
        delivery.save()
        _failure(subscription, error)
        return DeliveryOutcome.FAILED


def _log_attempt(delivery: WebhookDelivery, code: int | None, error: str) -> None:
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        response_code=code,
        error=error[:2000],
    )


def webhook_give_up(delivery_id: int) -> None:
    """The task's last retry failed: the delivery is marked failed."""
    WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING
    ).update(status=WebhookDelivery.Status.FAILED)


def _failure(subscription: WebhookSubscription, error: str) -> None:
    # Counted in the database: deliveries to one subscription run in parallel.
    subscriptions = WebhookSubscription.objects.filter(pk=subscription.pk)
    subscriptions.update(consecutive_failures=F("consecutive_failures") + 1)
    failures = subscriptions.values_list("consecutive_failures", flat=True).get()
    if failures >= settings.TRIAGE_WEBHOOKS_DISABLE_AFTER:
        # A dead endpoint must not keep a queue of retries busy for ever; an
        # admin re-enables it (the log says why it stopped).
        subscriptions.filter(is_active=True).update(
            is_active=False,
            disabled_reason=f"{failures} failures in a row; last: {error}"[:255],
        )
