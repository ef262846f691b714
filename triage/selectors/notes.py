"""Reads for internal notes and agents' notifications."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from triage.models import Notification, Ticket, TicketNote


def ticket_notes(ticket: Ticket) -> QuerySet[TicketNote]:
    return ticket.notes.select_related("author").order_by("created_at", "pk")


def notifications_unread(user: Any, *, limit: int = 20) -> list[Notification]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        Notification.objects.filter(recipient=user, read_at__isnull=True)
        .select_related("ticket")
        .order_by("-created_at", "-pk")[:limit]
    )
