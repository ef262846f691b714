"""Auto-acknowledgements (issue 15): at most one receipt per ticket, ever."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from triage.models import Message, Ticket


class AutoAck(models.Model):
    """The claim on a ticket's one receipt: the unique ticket makes a second ack
    impossible whatever the retries or workers; rows per address in the last hour
    are the per-sender rate limit."""

    class Status(models.TextChoices):
        # Claimed by one task, talking to SMTP. A claim whose task died stays
        # here: the receipt is then at most once, never twice.
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="autoack"
    )
    to_address = models.CharField(max_length=320)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.SENDING
    )
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.OneToOneField(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="autoack",
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["to_address", "created_at"], name="autoack_sender_rate_idx"
            )
        ]

    def __str__(self) -> str:
        return f"Auto-ack for ticket {self.ticket_id} ({self.status})"
