"""Outgoing webhooks over HTTPS to a real TLS server with its own CA: the
certificate is verified, for the URL's host name, on a connection to the address
that name was resolved to once."""

from __future__ import annotations

import json
import socket

import pytest

from tests.triage.api.webhook_receiver import Receiver, make_pki, readme_verify
from triage.api.models import WebhookDelivery, WebhookSubscription
from triage.services.outgoing_webhooks import (
    webhook_deliver,
    webhook_emit,
)

pytestmark = pytest.mark.django_db
SECRET = "whsec-tls-test-only"
HOST = "localhost"  # a name (in /etc/hosts): the certificate names it, not its IP


@pytest.fixture
def resolved(monkeypatch) -> list[str]:
    """The hosts the sender resolved (the real resolver answers)."""
    hosts: list[str] = []
    real = socket.getaddrinfo

    def spy(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        hosts.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    return hosts


def _deliver_to(url: str) -> WebhookDelivery:
    WebhookSubscription.objects.create(url=url, events=["reply.sent"], secret=SECRET)
    [delivery_id] = webhook_emit("reply.sent", {"draft": 3})
    webhook_deliver(delivery_id)
    return WebhookDelivery.objects.get(pk=delivery_id)


def test_https_delivery_checks_the_certificate_for_the_host_name(
    settings, tmp_path, resolved
):
    pki = make_pki(tmp_path, HOST)
    settings.TRIAGE_WEBHOOKS_ALLOW_PRIVATE = True  # localhost is loopback
    settings.TRIAGE_WEBHOOKS_CA_FILE = str(pki.ca)
    receiver = Receiver(host=HOST, tls=pki.server_context())
    resolved.clear()
    try:
        delivery = _deliver_to(receiver.url)
    finally:
        receiver.close()
    assert delivery.status == "delivered", delivery.last_error
    # The TLS server name is the URL's host (the certificate has no IP in it,
    # so checking the connected address instead would have failed)...
    assert receiver.server_names == [HOST]
    [(headers, body)] = receiver.requests
    assert headers["Host"] == f"{HOST}:{receiver.url.split(':')[2].split('/')[0]}"
    # ...and the name was resolved once: the connection went to that address,
    # never to a second lookup's answer (DNS rebinding).
    assert resolved.count(HOST) == 1, resolved
    assert readme_verify()(SECRET, body, headers["Triage-Signature"])
    assert json.loads(body)["data"] == {"draft": 3}


@pytest.mark.parametrize("trouble", ["another name", "an unknown CA"])
def test_https_delivery_refuses_a_certificate_it_cannot_verify(
    settings, tmp_path, trouble
):
    pki = make_pki(tmp_path, "hooks.example.org" if trouble == "another name" else HOST)
    settings.TRIAGE_WEBHOOKS_ALLOW_PRIVATE = True
    # Without the CA file the system's store decides: it does not know this CA.
    settings.TRIAGE_WEBHOOKS_CA_FILE = str(pki.ca) if trouble == "another name" else ""
    receiver = Receiver(host=HOST, tls=pki.server_context())
    try:
        delivery = _deliver_to(receiver.url)
    finally:
        receiver.close()
    assert receiver.requests == []  # nothing sent over an unverified channel
    assert delivery.status == "pending" and delivery.response_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
    expected = {"another name": "Hostname mismatch", "an unknown CA": "local issuer"}[
        trouble
    ]
    assert expected in delivery.last_error
    [attempt] = delivery.attempt_log.all()
    assert attempt.response_code is None and "CERTIFICATE" in attempt.error
