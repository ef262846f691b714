"""Reads the API needs that the dashboard's selectors do not have (kept here, not
in triage.selectors, so the API can change without touching the dashboard)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Prefetch, QuerySet

from triage import selectors
from triage.models import AuditEvent, Message, ReplyDraft, Ticket

# The list's filters: query parameter -> ticket column (the dashboard's filters).
LIST_FILTERS = {
    "status": "status",
    "priority": "priority",
    "sentiment": "shown_sentiment",
    "intent": "shown_intent",
    "language": "language",
    "assigned_to": "assigned_to__username",
    "draft_status": "draft_status",
}


def api_ticket_list(
    *, filters: dict[str, Any], search: str = "", created_after: datetime | None = None
) -> QuerySet[Ticket]:
    tickets = selectors.ticket_list()
    for param, column in LIST_FILTERS.items():
        value = filters.get(param)
        if value not in (None, ""):
            tickets = tickets.filter(**{column: value})
    if created_after is not None:
        tickets = tickets.filter(created_at__gte=created_after)
    if search:
        tickets = selectors.ticket_search(tickets, search)
    return tickets


def api_ticket_detail() -> QuerySet[Ticket]:
    """Tickets with their messages (and analyses), drafts and audit trail."""
    return (
        Ticket.objects.defer("search_vector")
        .select_related("assigned_to")
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=Message.objects.defer("raw", "html_body")
                .order_by("received_at", "pk")
                .prefetch_related("analyses"),
            ),
            Prefetch(
                "drafts",
                # Their files are part of the version an approver approves.
                queryset=ReplyDraft.objects.order_by("created_at").prefetch_related(
                    "attachments"
                ),
            ),
            Prefetch(
                "audit_events",
                queryset=AuditEvent.objects.select_related("actor"),
            ),
        )
    )


def api_draft(draft_id: int) -> ReplyDraft:
    return ReplyDraft.objects.select_related("ticket").get(pk=draft_id)


def api_assignable_user(username: str) -> Any:
    """Who a ticket may be assigned to: active staff (as the dashboard's form)."""
    return (
        get_user_model()
        .objects.filter(username=username, is_active=True, is_staff=True)
        .first()
    )


def api_message(message_id: int) -> Message:
    return (
        Message.objects.defer("raw", "html_body")
        .prefetch_related("analyses")
        .get(pk=message_id)
    )


def api_customers(email_prefix: str = "") -> QuerySet[Any]:
    """Customers as the tickets know them: address, tickets, latest contact."""
    tickets = Ticket.objects.all()
    if email_prefix:
        tickets = tickets.filter(customer_email__istartswith=email_prefix)
    return (
        tickets.values("customer_email")
        .annotate(tickets=Count("pk"), last_ticket_at=Max("created_at"))
        .order_by("-last_ticket_at", "customer_email")
    )


# The messages list's filters: query parameter -> message column.
MESSAGE_FILTERS = {
    "ticket": "ticket_id",
    "direction": "direction",
    "triage_status": "triage_status",
}


def api_message_list(
    *, filters: dict[str, Any], received_after: datetime | None = None
) -> QuerySet[Message]:
    """Messages with their analyses; the raw MIME and the HTML never leave the
    database (the text body is what a script reads)."""
    messages = Message.objects.defer("raw", "html_body").prefetch_related("analyses")
    for param, column in MESSAGE_FILTERS.items():
        value = filters.get(param)
        if value not in (None, ""):
            messages = messages.filter(**{column: value})
    if received_after is not None:
        messages = messages.filter(received_at__gte=received_after)
    return messages
