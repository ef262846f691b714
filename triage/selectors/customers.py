"""Reads for the customer history panel, the customer page and the list's
per-customer ticket counts (issue 15 item 4). A customer is an email address:
tickets carry `customer_email` (indexed), there is no customer table."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, QuerySet

from triage.models import Ticket

HISTORY_LIMIT = 20


def customer_tickets(
    email: str, *, exclude_id: int | None = None, limit: int = HISTORY_LIMIT
) -> QuerySet[Ticket]:
    """The customer's tickets, newest first (status, sentiment, intent, date)."""
    tickets = (
        Ticket.objects.filter(customer_email__iexact=email.strip())
        .only(
            "pk",
            "subject",
            "status",
            "created_at",
            "shown_sentiment",
            "shown_intent",
            "customer_name",
            "customer_email",
        )
        .order_by("-created_at", "-pk")
    )
    if exclude_id is not None:
        tickets = tickets.exclude(pk=exclude_id)
    return tickets[:limit]


def customer_ticket_counts(emails: Iterable[str]) -> dict[str, int]:
    """How many tickets each address has: one grouped query for a list page."""
    wanted = {e for e in emails if e}
    if not wanted:
        return {}
    rows = (
        Ticket.objects.filter(customer_email__in=wanted)
        .values("customer_email")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["customer_email"]: row["n"] for row in rows}
