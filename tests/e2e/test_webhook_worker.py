"""Outgoing webhooks through a real `celery worker` process: Redis -> the task ->
a real HTTP receiver that fails each event's first delivery. The task retries
with backoff (sub-second here: TRIAGE_WEBHOOKS_RETRY_BACKOFF_SECONDS) and each
event is accepted exactly once."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from tests.ci import NO_SERVICES, need
from tests.e2e.processes import CeleryWorker, reset_broker, worker_env
from tests.factories import TicketFactory, UserFactory
from tests.triage.api.webhook_receiver import Receiver, readme_verify
from tests.waiting import wait_until
from triage.api.models import WebhookDelivery, WebhookSubscription
from triage.services import roles_sync, ticket_update

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SECRET = "whsec-e2e-only"
QUEUES = ("mail",)


@pytest.fixture
def webhook_worker(transactional_db) -> Iterator[CeleryWorker]:
    need(
        connection.vendor == "postgresql" and not settings.CELERY_TASK_ALWAYS_EAGER,
        NO_SERVICES,
    )
    reset_broker(QUEUES)
    worker = CeleryWorker(
        worker_env(
            TRIAGE_WEBHOOKS_ALLOW_PRIVATE="true",  # the receiver is on loopback
            TRIAGE_WEBHOOKS_RETRY_BACKOFF_SECONDS="0.3",
            TRIAGE_WEBHOOKS_RETRY_MAX_SECONDS="2",
        ),
        queues=QUEUES,
    ).wait_ready()
    yield worker
    worker.stop()
    reset_broker(QUEUES)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=1)
    yield r
    r.close()


def test_worker_retries_after_a_500_and_each_event_arrives_once(
    webhook_worker, receiver
):
    WebhookSubscription.objects.create(
        url=receiver.url, events=["ticket.updated"], secret=SECRET
    )
    lead = UserFactory(groups=[roles_sync()["Approvers"]])
    tickets = [TicketFactory(), TicketFactory()]
    for ticket in tickets:
        # The real service: the event's task is published when this commits.
        ticket.status = "waiting"
        ticket_update(ticket=ticket, user=lead, fields=["status"])

    def finished() -> list[str]:
        return re.findall(
            r"mail\.deliver_webhook\[[^\]]+\] succeeded in [^:]+: '(\w+)'",
            webhook_worker.log,
        )

    wait_until(
        lambda: len(finished()) == 2,
        timeout=90,
        what="both webhook tasks finished",
        log=lambda: webhook_worker.log,
    )
    assert finished() == ["delivered", "delivered"]
    # Each task failed once, was retried by Celery with a countdown, then delivered.
    retries = re.findall(
        r"deliver_webhook\[[^\]]+\] retry: Retry in", webhook_worker.log
    )
    assert len(retries) == 2, webhook_worker.log

    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert len(deliveries) == 2
    verify = readme_verify()
    for delivery in deliveries:
        event_id = str(delivery.event_id)
        seen = [r for r in receiver.log if r.headers["Triage-Event-Id"] == event_id]
        # The receiver answered 500 then 200: exactly one accepted delivery.
        assert [r.answered for r in seen] == [500, 200], receiver.log
        for request in seen:
            assert verify(SECRET, request.body, request.headers["Triage-Signature"])
            event = json.loads(request.body)
            assert (event["id"], event["type"]) == (event_id, "ticket.updated")
        assert (delivery.status, delivery.attempts, delivery.response_code) == (
            "delivered",
            2,
            200,
        )
        log = delivery.attempt_log.values_list("number", "response_code", "error")
        assert list(log) == [(1, 500, "HTTP 500"), (2, 200, "")]
    ticket_ids = {json.loads(d.body)["data"]["ticket"] for d in receiver.log}
    assert ticket_ids == {t.pk for t in tickets}
    assert len(receiver.log) == 4
    subscription = WebhookSubscription.objects.get()
    assert subscription.is_active and subscription.consecutive_failures == 0
