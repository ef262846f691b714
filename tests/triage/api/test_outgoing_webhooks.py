"""Outgoing webhooks delivered to a real HTTP(S) server (http.server in a thread)."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid

import pytest
from django.db import connection

from tests.ci import needs
from tests.factories import ReplyDraftFactory, TicketFactory, UserFactory
from tests.triage.api.webhook_receiver import Receiver, readme_verify
from triage.api.models import WebhookDelivery, WebhookSubscription
from triage.services import roles_sync, ticket_update
from triage.services.dashboard import ticket_assign_to_me
from triage.services.outgoing_webhooks import (
    DeliveryOutcome,
    sign,
    webhook_deliver,
    webhook_emit,
    webhook_send_test,
)
from triage.services.reply_approval import reply_approve, reply_version

pytestmark = pytest.mark.django_db
SECRET = "whsec-test-only"


@pytest.fixture
def receiver(settings):
    settings.TRIAGE_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver is on loopback
    r = Receiver()
    yield r
    r.close()


def subscribe(url: str, *events: str) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        url=url, events=list(events), secret=SECRET
    )


def verify(headers: dict[str, str], body: bytes, secret: str) -> bool:
    """What a receiver does: the README's snippet, run as written."""
    return bool(readme_verify()(secret, body, headers["Triage-Signature"]))


def test_signed_delivery_retried_after_a_500_and_delivered_once(receiver):
    subscribe(receiver.url, "ticket.updated")
    receiver.answers = [500]
    [delivery_id] = webhook_emit("ticket.updated", {"ticket": 7})

    assert webhook_deliver(delivery_id) == DeliveryOutcome.FAILED
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.response_code) == ("pending", 500)
    assert webhook_deliver(delivery_id) == DeliveryOutcome.DELIVERED
    assert webhook_deliver(delivery_id) == DeliveryOutcome.ALREADY_DELIVERED

    assert len(receiver.requests) == 2
    ids = {headers["Triage-Event-Id"] for headers, _ in receiver.requests}
    assert ids == {str(delivery.event_id)}
    headers, body = receiver.requests[-1]
    assert verify(headers, body, SECRET)
    assert not verify(headers, body, "another secret")
    assert not verify(headers, body + b" ", SECRET)
    event = json.loads(body)
    assert event["type"] == "ticket.updated" and event["data"] == {"ticket": 7}
    assert event["id"] == str(delivery.event_id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code, delivery.attempts) == (
        "delivered",
        200,
        2,
    )
    # The log keeps each attempt, not only the last one.
    log = delivery.attempt_log.values_list("number", "response_code", "error")
    assert list(log) == [(1, 500, "HTTP 500"), (2, 200, "")]
    # The README's check refuses a replayed (old) signature.
    stale = sign(SECRET, body, int(time.time()) - 3600)
    assert not verify({"Triage-Signature": stale}, body, SECRET)


# Row locks are what these two test: SQLite locks the whole table instead.
postgres_only = needs(
    connection.vendor == "postgresql", "needs PostgreSQL (DATABASE_URL)"
)


@postgres_only
def test_concurrent_deliveries_of_one_event_post_once(receiver, transactional_db):
    from django.db import connections

    # The row as webhook_emit writes it, without its task (which would run at
    # once here, eagerly): four deliverers race for it instead.
    delivery_id = WebhookDelivery.objects.create(
        subscription=subscribe(receiver.url, "ticket.updated"),
        event_id=uuid.uuid4(),
        event="ticket.updated",
        payload={"ticket": 1},
    ).pk
    barrier = threading.Barrier(4)
    outcomes = []

    def run() -> None:
        barrier.wait()
        try:
            outcomes.append(webhook_deliver(delivery_id))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count(DeliveryOutcome.DELIVERED) == 1, outcomes
    assert len(receiver.requests) == 1


def test_services_emit_events_after_commit_through_the_task(
    receiver, django_capture_on_commit_callbacks
):
    subscribe(receiver.url, "ticket.updated", "draft.approved")
    approver = UserFactory(groups=[roles_sync()["Approvers"]])
    ticket = TicketFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ticket.status = "closed"
        ticket_update(ticket=ticket, user=approver, fields=["status"])
    assert receiver.requests == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    draft = ReplyDraftFactory()
    with django_capture_on_commit_callbacks(execute=True):
        reply_approve(draft_id=draft.pk, user=approver, version=reply_version(draft))
    types = [json.loads(body)["type"] for _, body in receiver.requests]
    assert types == ["ticket.updated", "draft.approved"]
    assert json.loads(receiver.requests[1][1])["data"]["draft"] == draft.pk
    assert WebhookDelivery.objects.filter(status="delivered").count() == 2


def test_assignment_is_a_ticket_update_for_integrations(
    receiver, django_capture_on_commit_callbacks
):
    subscribe(receiver.url, "ticket.updated")
    agent = UserFactory(groups=[roles_sync()["Agents"]])
    ticket = TicketFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert ticket_assign_to_me(ticket_id=ticket.pk, user=agent)
        # Assigning again changes nothing and says nothing.
        assert not ticket_assign_to_me(ticket_id=ticket.pk, user=agent)
    [(_, body)] = receiver.requests
    event = json.loads(body)
    assert event["type"] == "ticket.updated"
    assert event["data"] == {
        "ticket": ticket.pk,
        "by": agent.get_username(),
        "changes": {"assigned_to": agent.get_username()},
    }


def test_unsubscribed_events_are_not_sent(receiver, django_capture_on_commit_callbacks):
    subscribe(receiver.url, "reply.sent")
    assert webhook_emit("ticket.updated", {"ticket": 1}) == []


def test_loopback_and_private_targets_are_refused_by_default(settings):
    settings.TRIAGE_WEBHOOKS_ALLOW_PRIVATE = False
    receiver = Receiver()
    try:
        for url in (
            receiver.url,
            "http://localhost:9/x",
            "http://10.0.0.1/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:9/x",
            "http://192.168.1.1/x",
        ):
            sub = subscribe(url, "ticket.updated")
            [delivery_id] = webhook_emit("ticket.updated", {"ticket": 1})
            assert webhook_deliver(delivery_id) == DeliveryOutcome.REFUSED, url
            delivery = WebhookDelivery.objects.get(pk=delivery_id)
            assert delivery.status == "refused"
            sub.delete()
        assert receiver.requests == []
    finally:
        receiver.close()


def test_repeated_failures_disable_the_subscription(receiver, settings):
    settings.TRIAGE_WEBHOOKS_DISABLE_AFTER = 3
    sub = subscribe(receiver.url, "ticket.updated")
    receiver.answers = [503, 503, 503]
    for _ in range(3):
        [delivery_id] = webhook_emit("ticket.updated", {"ticket": 1})
        webhook_deliver(delivery_id)
    sub.refresh_from_db()
    assert not sub.is_active and "3 failures" in sub.disabled_reason
    assert webhook_emit("ticket.updated", {"ticket": 1}) == []


def test_admin_test_event_is_delivered(
    receiver, client, django_capture_on_commit_callbacks
):
    sub = subscribe(receiver.url, "reply.sent")
    client.force_login(UserFactory(is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/triage_api/webhooksubscription/",
            {"action": "send_test_event", "_selected_action": [sub.pk]},
        )
    assert response.status_code == 302
    [(headers, body)] = receiver.requests
    assert json.loads(body)["type"] == "webhook.test"
    assert verify(headers, body, SECRET)
    assert webhook_send_test  # the admin action calls this service


def test_ingest_and_triage_emit_their_events(
    receiver, django_capture_on_commit_callbacks
):
    from tests.factories import make_eml
    from tests.triage.test_analysis_save import full_results
    from triage.services import analysis_save, email_ingest

    subscribe(
        receiver.url,
        "ticket.created",
        "message.received",
        "message.triaged",
        "draft.created",
    )
    # The ingest's own after-commit work (triage with real models) is not run
    # here: the recorded deliveries are delivered as their task would.
    with django_capture_on_commit_callbacks(execute=False):
        message = email_ingest(make_eml(), source="test").message
        analysis_save(message_id=message.pk, results=full_results("Dear Ada"))
    for delivery in WebhookDelivery.objects.order_by("pk"):
        assert webhook_deliver(delivery.pk) == DeliveryOutcome.DELIVERED
    events = [json.loads(body) for _, body in receiver.requests]
    by_type = {e["type"]: e["data"] for e in events}
    assert list(by_type) == [
        "ticket.created",
        "message.received",
        "draft.created",
        "message.triaged",
    ]
    assert by_type["message.received"]["message"] == message.pk
    assert by_type["message.triaged"]["analysis"]["sentiment"]["result"]
    assert by_type["draft.created"]["text"] == "Dear Ada"
    assert len({e["id"] for e in events}) == 4


def test_an_approval_through_the_api_ends_in_reply_sent(
    receiver, approver_api, smtp, django_capture_on_commit_callbacks
):
    subscribe(receiver.url, "draft.approved", "reply.sent")
    draft = ReplyDraftFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = approver_api.post(
            f"/api/v1/drafts/{draft.pk}/approve/",
            {"version": reply_version(draft)},
            format="json",
        )
    assert response.status_code == 200, response.content
    [mail] = smtp.wait_for(1)
    events = [json.loads(body) for _, body in receiver.requests]
    assert [e["type"] for e in events] == ["draft.approved", "reply.sent"]
    sent = events[1]["data"]
    assert (sent["draft"], sent["ticket"]) == (draft.pk, draft.ticket_id)
    assert sent["message_id"] == mail.message["Message-ID"]
    assert all(verify(h, body, SECRET) for h, body in receiver.requests)


def test_admin_delivery_log_shows_each_attempt_to_superusers_only(
    receiver, client, approver
):
    subscribe(receiver.url, "ticket.updated")
    receiver.answers = [503]
    [delivery_id] = webhook_emit("ticket.updated", {"ticket": 1})
    webhook_deliver(delivery_id)
    webhook_deliver(delivery_id)
    url = f"/admin/triage_api/webhookdelivery/{delivery_id}/change/"
    client.force_login(approver)
    assert client.get(url).status_code == 403
    client.force_login(UserFactory(is_superuser=True))
    assert client.get("/admin/triage_api/webhookdelivery/").status_code == 200
    page = client.get(url).content.decode()
    rows = re.findall(r'<tr class="[^"]*has_original[^"]*".*?</tr>', page, re.S)
    assert len(rows) == 2, page
    assert "503" in rows[0] and "HTTP 503" in rows[0] and "200" in rows[1]


def _pending(subscription: WebhookSubscription) -> int:
    """A delivery row as webhook_emit writes it, without publishing its task."""
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event_id=uuid.uuid4(),
        event="ticket.updated",
        payload={"ticket": 1},
    ).pk


@postgres_only
def test_deliveries_to_one_subscription_do_not_block_each_other(
    receiver, transactional_db
):
    from django.db import connections

    subscription = subscribe(receiver.url, "ticket.updated")
    slow, fast = _pending(subscription), _pending(subscription)
    receiver.release.clear()  # the first POST hangs until released
    outcomes: dict[int, DeliveryOutcome] = {}

    def deliver(pk: int) -> None:
        try:
            outcomes[pk] = webhook_deliver(pk)
        finally:
            connections.close_all()

    first = threading.Thread(target=deliver, args=(slow,))
    # Another worker's delivery of another event to the same endpoint.
    second = threading.Thread(target=deliver, args=(fast,))
    first.start()
    try:
        assert receiver.waiting.acquire(timeout=30)  # `slow` is mid-request
        second.start()
        # Had the first delivery locked the subscription, `fast` would skip as
        # "in flight" without a request.
        assert receiver.waiting.acquire(timeout=30), outcomes
    finally:
        receiver.release.set()
        for thread in (first, second):
            if thread.is_alive():
                thread.join(30)
    assert outcomes == {slow: "delivered", fast: "delivered"}
    assert len(receiver.requests) == 2
