"""Spam and blocked senders (issue 15 item 6).

Marking spam hides a ticket from the list (closed, `is_spam`), optionally
blocks its sender; mail from a blocked sender is still stored (nothing is
lost) but its ticket is closed as spam at once. Every step is undoable and
audited.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from triage.models import AuditEvent, BlockedSender, Message, Ticket

PERM_SPAM = "triage.change_ticket"


def _require(user: Any) -> None:
    if user is None or not user.is_active or not user.has_perm(PERM_SPAM):
        raise PermissionDenied(f"Needs the {PERM_SPAM} permission.")


def sender_key(address: str) -> str:
    return (address or "").strip().lower()


@transaction.atomic
def ticket_mark_spam(*, ticket_id: int, user: Any, block_sender: bool) -> Ticket:
    _require(user)
    ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
    previous = ticket.status
    ticket.is_spam = True
    ticket.status = Ticket.Status.CLOSED
    ticket.save(update_fields=["is_spam", "status", "updated_at"])
    if block_sender and ticket.customer_email:
        BlockedSender.objects.get_or_create(
            email=sender_key(ticket.customer_email), defaults={"blocked_by": user}
        )
    AuditEvent.objects.create(
        ticket=ticket,
        actor=user,
        action="marked_spam",
        detail={"previous_status": previous, "sender_blocked": bool(block_sender)},
    )
    return ticket


@transaction.atomic
def ticket_unmark_spam(*, ticket_id: int, user: Any, unblock_sender: bool) -> Ticket:
    """Undo: the ticket is back in the list (status before, or new)."""
    _require(user)
    ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
    last = (
        AuditEvent.objects.filter(ticket=ticket, action="marked_spam")
        .order_by("-created_at", "-pk")
        .first()
    )
    previous = (last.detail.get("previous_status") if last else "") or ""
    ticket.is_spam = False
    ticket.status = previous if previous in Ticket.Status.values else Ticket.Status.NEW
    ticket.save(update_fields=["is_spam", "status", "updated_at"])
    unblocked = 0
    if unblock_sender:
        unblocked, _ = BlockedSender.objects.filter(
            email=sender_key(ticket.customer_email)
        ).delete()
    AuditEvent.objects.create(
        ticket=ticket,
        actor=user,
        action="unmarked_spam",
        detail={"status": ticket.status, "sender_unblocked": bool(unblocked)},
    )
    return ticket


def sender_is_blocked(address: str) -> bool:
    return BlockedSender.objects.filter(email=sender_key(address)).exists()


def message_from_blocked_sender(message: Message) -> bool:
    """Called by ingest: close the ticket as spam if its sender is blocked."""
    if not sender_is_blocked(message.from_address):
        return False
    ticket = message.ticket
    ticket.is_spam = True
    ticket.status = Ticket.Status.CLOSED
    ticket.save(update_fields=["is_spam", "status", "updated_at"])
    AuditEvent.objects.create(
        ticket=ticket,
        action="blocked_sender_closed",
        detail={"message": message.pk},
    )
    return True
