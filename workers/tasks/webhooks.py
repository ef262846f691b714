"""Outgoing webhook delivery (queue `mail`): thin, owns the retry policy."""

from __future__ import annotations

from django.conf import settings

from triage.services.outgoing_webhooks import (
    DeliveryOutcome,
    webhook_deliver,
    webhook_give_up,
)
from workers.celery import app
from workers.tasks import retry


@app.task(
    name="mail.deliver_webhook",
    bind=True,
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
)
def deliver_webhook(self, delivery_id: int) -> str:
    outcome = webhook_deliver(delivery_id)
    if outcome in (DeliveryOutcome.FAILED, DeliveryOutcome.IN_FLIGHT):
        if retry.attempts_left(self, settings.TRIAGE_WEBHOOKS_MAX_ATTEMPTS):
            countdown = retry.backoff(
                self.request.retries,
                factor=settings.TRIAGE_WEBHOOKS_RETRY_BACKOFF_SECONDS,
                maximum=settings.TRIAGE_WEBHOOKS_RETRY_MAX_SECONDS,
            )
            raise self.retry(countdown=countdown)
        if outcome == DeliveryOutcome.FAILED:
            webhook_give_up(delivery_id)
    return str(outcome)
