"""Merging two tickets and splitting a message into a ticket of its own (issue 15).

A merge moves everything that hangs off the source (messages with their
analyses and attachments, drafts, notes, notifications, the audit history) onto
the target in one transaction; the source keeps only the `merged_into` link,
its own audit event, and redirects. Nothing is deleted, so every message and
every audit event survives (the tests count them).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from triage.models import (
    Analysis,
    AuditEvent,
    Message,
    Notification,
    ReplyDraft,
    Ticket,
    TicketNote,
)
from triage.services.denorm import ticket_list_fields_refresh, ticket_search_refresh

PERM_MERGE = "triage.change_ticket"


def _require(user: Any) -> None:
    if user is None or not user.is_active or not user.has_perm(PERM_MERGE):
        raise PermissionDenied(f"Needs the {PERM_MERGE} permission.")


def _audit(ticket: Ticket, actor: Any, action: str, **detail: Any) -> AuditEvent:
    return AuditEvent.objects.create(
        ticket=ticket,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        detail=detail,
    )


def ticket_merge(source: Ticket | int, target: Ticket | int, actor: Any) -> Ticket:
    """Merge `source` into `target`; returns the target.

    Both rows are locked in id order, so two agents merging the same pair in
    opposite directions wait for each other instead of deadlocking, and the
    second one finds the first's merge and is refused.
    """
    _require(actor)
    source_id = source.pk if isinstance(source, Ticket) else int(source)
    target_id = target.pk if isinstance(target, Ticket) else int(target)
    if source_id == target_id:
        raise ValidationError("A ticket cannot be merged into itself.")
    with transaction.atomic():
        locked = {
            t.pk: t
            for t in Ticket.objects.select_for_update()
            .filter(pk__in=[source_id, target_id])
            .order_by("pk")
        }
        for wanted in (source_id, target_id):
            if wanted not in locked:
                raise ValidationError(f"There is no ticket #{wanted}.")
        src, dst = locked[source_id], locked[target_id]
        for ticket in (src, dst):
            if ticket.merged_into_id:
                raise ValidationError(
                    f"Ticket #{ticket.pk} was already merged into "
                    f"#{ticket.merged_into_id}."
                )
        moved = {
            "messages": Message.objects.filter(ticket=src).update(ticket=dst),
            "drafts": ReplyDraft.objects.filter(ticket=src).update(ticket=dst),
            "notes": TicketNote.objects.filter(ticket=src).update(ticket=dst),
            "notifications": Notification.objects.filter(ticket=src).update(ticket=dst),
            "audit_events": AuditEvent.objects.filter(ticket=src).update(ticket=dst),
        }
        # Analyses hang off the messages and moved with them; a mail that only
        # mentioned the source now mentions where its thread lives.
        Message.objects.filter(mentions_ticket=src).update(mentions_ticket=dst)
        src.merged_into = dst
        src.status = Ticket.Status.CLOSED
        src.save(update_fields=["merged_into", "status", "updated_at"])
        if dst.status == Ticket.Status.CLOSED and moved["messages"]:
            dst.status = Ticket.Status.NEEDS_REVIEW
        dst.save(update_fields=["status", "updated_at"])
        ticket_list_fields_refresh([src.pk, dst.pk])
        ticket_search_refresh([src.pk, dst.pk])
        _audit(src, actor, "ticket_merged_into", target=dst.pk, moved=moved)
        _audit(
            dst,
            actor,
            "ticket_merged",
            source=src.pk,
            source_subject=src.subject,
            source_customer=src.customer_email,
            moved=moved,
        )
    return dst


def message_split(message: Message | int, actor: Any) -> Ticket:
    """Move an inbound message (and the drafts answering it) to a new ticket.

    Sent drafts take their outbound mail with them, so each reply stays next to
    the message it answered.
    """
    _require(actor)
    message_id = message.pk if isinstance(message, Message) else int(message)
    with transaction.atomic():
        msg = Message.objects.select_for_update().defer("raw").get(pk=message_id)
        old = Ticket.objects.select_for_update().get(pk=msg.ticket_id)
        if msg.direction != Message.Direction.INBOUND:
            raise ValidationError("Only a customer's message can be split off.")
        others = Message.objects.filter(
            ticket=old, direction=Message.Direction.INBOUND
        ).exclude(pk=msg.pk)
        if not others.exists():
            raise ValidationError(
                "This is the ticket's only message from the customer: nothing to split."
            )
        new = Ticket.objects.create(
            subject=msg.subject or old.subject,
            customer_email=msg.from_address or old.customer_email,
            customer_name=msg.from_name or old.customer_name,
            language=old.language,
            priority=old.priority,
            status=Ticket.Status.NEEDS_REVIEW,
            created_at=timezone.now(),
            **_labels(msg),
        )
        drafts = ReplyDraft.objects.filter(ticket=old, in_reply_to_message=msg)
        sent = list(
            drafts.exclude(sent_message=None).values_list("sent_message", flat=True)
        )
        draft_ids = list(drafts.values_list("pk", flat=True))
        ReplyDraft.objects.filter(pk__in=draft_ids).update(ticket=new)
        Message.objects.filter(pk__in=[msg.pk, *sent]).update(ticket=new)
        old.save(update_fields=["updated_at"])
        ticket_list_fields_refresh([old.pk, new.pk])
        ticket_search_refresh([old.pk, new.pk])
        _audit(
            old,
            actor,
            "message_split_out",
            message=msg.pk,
            new_ticket=new.pk,
            drafts=draft_ids,
        )
        _audit(
            new,
            actor,
            "ticket_split_from",
            message=msg.pk,
            from_ticket=old.pk,
            drafts=draft_ids,
        )
    return new


def _labels(message: Message) -> dict[str, Any]:
    """The split message's own sentiment and intent, where the models gave one."""
    results = dict(
        Analysis.objects.filter(
            message=message, step__in=("sentiment", "intent"), error=""
        ).values_list("step", "result")
    )
    labels: dict[str, Any] = {}
    sentiment = results.get("sentiment") or {}
    if isinstance(sentiment, dict) and sentiment.get("label"):
        labels["sentiment_label"] = str(sentiment["label"])[:32]
        score = sentiment.get("score")
        labels["sentiment_score"] = float(score) if score is not None else None
    intent = results.get("intent") or {}
    if isinstance(intent, dict) and intent.get("label"):
        labels["intent"] = str(intent["label"])[:64]
    return labels
