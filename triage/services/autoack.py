"""Auto-acknowledgement (issue 15 item 7): one receipt per new ticket.

Published by ingest after commit (queue `mail`, task `mail.send_autoack`);
this module decides and sends. The `AutoAck` row is the claim: unique per
ticket, so no retry and no second worker can send a second receipt; rows per
address in the last hour are the rate limit, counted under a per-address lock.
A failed SMTP attempt releases the claim for the task's retry; a claim whose
worker died is never retried (a receipt at most once, never twice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formatdate, parseaddr
from enum import StrEnum

from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from triage.models import AuditEvent, AutoAck, Message, Ticket
from triage.services.autoack_rules import autoack_refusal
from triage.services.reply_common import ReplyRefused, outbound_message_record
from triage.services.reply_composition import (
    _address_check,
    _header_check,
    reply_subject,
    reply_thread_ids,
)

logger = logging.getLogger(__name__)

# First key of the two-key advisory lock: "auto-ack per sender".
_LOCK_NAMESPACE = 15_007


class AckOutcome(StrEnum):
    SENT = "sent"
    DISABLED = "disabled"
    GONE = "gone"
    ALREADY = "already"  # this ticket has (or is sending) its receipt
    SKIPPED = "skipped"  # automated mail, our address, spam ...
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class OutgoingAck:
    ack_id: int
    ticket_id: int
    email: mail.EmailMessage
    message_id: str
    in_reply_to: str
    references: str


def autoack_send(ticket_id: int) -> AckOutcome:
    """Send the ticket's receipt if it may have one. Raises what SMTP raised
    (after releasing the claim), so the task can retry."""
    if not settings.TRIAGE_AUTOACK:
        return AckOutcome.DISABLED
    claimed = _claim(ticket_id)
    if isinstance(claimed, AckOutcome):
        return claimed
    try:
        with mail.get_connection(fail_silently=False) as smtp:
            if smtp.send_messages([claimed.email]) != 1:
                raise RuntimeError("The mail backend accepted no message")
    except Exception as exc:
        _release(claimed, exc)
        raise
    _record(claimed)
    return AckOutcome.SENT


def _audit(ticket: Ticket, action: str, **detail: object) -> None:
    AuditEvent.objects.create(ticket=ticket, action=action, detail=detail)


def _claim(ticket_id: int) -> OutgoingAck | AckOutcome:
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None:
            return AckOutcome.GONE
        if AutoAck.objects.filter(ticket=ticket).exists():
            return AckOutcome.ALREADY
        first = (
            ticket.messages.filter(direction=Message.Direction.INBOUND)
            .order_by("received_at", "pk")
            .first()
        )
        if first is None:
            return AckOutcome.GONE
        reason = autoack_refusal(ticket, first)
        if reason:
            _audit(ticket, "autoack_skipped", reason=reason, message=first.pk)
            return AckOutcome.SKIPPED
        address = ticket.customer_email.strip().lower()
        _sender_lock(address)
        limit = settings.TRIAGE_AUTOACK_MAX_PER_SENDER_HOUR
        recent = AutoAck.objects.filter(
            to_address=address, created_at__gte=timezone.now() - timedelta(hours=1)
        ).count()
        if recent >= limit:
            _audit(ticket, "autoack_rate_limited", to=address, per_hour=limit)
            return AckOutcome.RATE_LIMITED
        ack = AutoAck.objects.create(ticket=ticket, to_address=address)
        try:
            return _compose(ack, ticket, first)
        except ReplyRefused as exc:
            ack.delete()
            _audit(ticket, "autoack_skipped", reason=" ".join(exc.messages))
            return AckOutcome.SKIPPED


def _sender_lock(address: str) -> None:
    """Serialise acks to one address until commit (two workers, one sender)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                [_LOCK_NAMESPACE, address],
            )


def _compose(ack: AutoAck, ticket: Ticket, first: Message) -> OutgoingAck:
    to = _address_check("recipient", ticket.customer_email.strip())
    from_email = _header_check("sender", settings.DEFAULT_FROM_EMAIL)
    _address_check("sender", parseaddr(from_email)[1])
    domain = settings.TRIAGE_SUPPORT_ADDRESS.rpartition("@")[2] or "triage.invalid"
    message_id = f"<autoack-{ack.key}@{domain}>"
    in_reply_to, references = reply_thread_ids(ticket, first)
    headers = {
        "Message-ID": message_id,
        "Date": formatdate(usegmt=True),
        # RFC 3834: peers' autoresponders must not answer this.
        "Auto-Submitted": "auto-replied",
        "X-Auto-Response-Suppress": "All",
    }
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = " ".join(references)
    body = render_to_string(
        "email/autoack.txt",
        {
            "ticket": ticket,
            "shop_name": settings.TRIAGE_SHOP_NAME,
            "signature": settings.TRIAGE_AGENT_SIGNATURE,
        },
    )
    email = mail.EmailMessage(
        subject=_header_check("subject", reply_subject(ticket, first)),
        body=body,
        from_email=from_email,
        to=[to],
        headers=headers,
    )
    return OutgoingAck(
        ack_id=ack.pk,
        ticket_id=ticket.pk,
        email=email,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=" ".join(references),
    )


def _release(outgoing: OutgoingAck, exc: BaseException) -> None:
    error = f"{type(exc).__name__}: {exc}"
    logger.warning("Auto-ack of ticket %s failed: %s", outgoing.ticket_id, error)
    with transaction.atomic():
        AutoAck.objects.filter(
            pk=outgoing.ack_id, status=AutoAck.Status.SENDING
        ).delete()
        ticket = Ticket.objects.filter(pk=outgoing.ticket_id).first()
        if ticket is not None:
            _audit(ticket, "autoack_error", error=error[:2000])


def _record(outgoing: OutgoingAck) -> None:
    now = timezone.now()
    email = outgoing.email
    raw = email.message().as_bytes()
    with transaction.atomic():
        ack = (
            AutoAck.objects.select_for_update()
            .select_related("ticket")
            .get(pk=outgoing.ack_id)
        )
        sent = outbound_message_record(
            ticket=ack.ticket,
            source="autoack",
            message_id=outgoing.message_id,
            raw=raw,
            sent_at=now,
            in_reply_to=outgoing.in_reply_to,
            references=outgoing.references,
            from_address=parseaddr(email.from_email)[1],
            from_name=parseaddr(email.from_email)[0],
            to=", ".join(email.to),
            subject=email.subject,
            text_body=email.body,
        )
        ack.status = AutoAck.Status.SENT
        ack.sent_at = now
        ack.message = sent
        ack.save(update_fields=["status", "sent_at", "message"])
        _audit(
            ack.ticket,
            "autoack_sent",
            message=sent.pk,
            message_id=outgoing.message_id,
            to=ack.to_address,
        )
    logger.info("Auto-ack for ticket %s sent", outgoing.ticket_id)
