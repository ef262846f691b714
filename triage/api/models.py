"""API tokens: what an integration authenticates with."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A per-user token. Only the SHA-256 of the secret is stored (it is shown
    once, at creation); `prefix` is the visible start that lets a user tell their
    tokens apart and lets the server find the row without scanning."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        state = " (revoked)" if self.revoked_at else ""
        return f"{self.name} {self.prefix}…{state}"


class WebhookSubscription(models.Model):
    """An outgoing webhook: events POSTed, signed with `secret`, to `url`."""

    class Event(models.TextChoices):
        TICKET_CREATED = "ticket.created"
        TICKET_UPDATED = "ticket.updated"
        MESSAGE_RECEIVED = "message.received"
        MESSAGE_TRIAGED = "message.triaged"
        DRAFT_CREATED = "draft.created"
        DRAFT_APPROVED = "draft.approved"
        REPLY_SENT = "reply.sent"
        TEST = "webhook.test"

    url = models.URLField(max_length=2000)
    events = models.JSONField(
        default=list, help_text='Event names, e.g. ["draft.approved"].'
    )
    secret = models.CharField(max_length=128, help_text="Signs every delivery.")
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one subscription; `event_id` is the receiver's dedup key."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused (unsafe target)"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField()
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="uniq_delivery_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: the log an admin reads to see why it retried."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="uniq_attempt_number"
            )
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.delivery_id}"
