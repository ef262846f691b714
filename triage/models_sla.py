"""SLA policies (issue 15): response and resolution targets per priority."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

from triage.models import Ticket


class SlaPolicy(models.Model):
    """Targets for one priority, in business hours (TRIAGE_BUSINESS_*) unless
    `around_the_clock`. Team leads manage them in the dashboard."""

    priority = models.PositiveSmallIntegerField(
        choices=Ticket.Priority.choices, unique=True
    )
    first_response_hours = models.FloatField(
        validators=[MinValueValidator(0.05)],
        help_text="Hours until the first reply is due.",
    )
    resolution_hours = models.FloatField(
        validators=[MinValueValidator(0.05)],
        help_text="Hours from arrival until the ticket should be resolved.",
    )
    around_the_clock = models.BooleanField(
        default=False,
        help_text="Count every hour (urgent tickets), not only business hours.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return f"SLA for {Ticket.Priority(self.priority).label} tickets"
