"""Ingest: raw MIME in, Ticket + Message + Attachments stored, triage enqueued."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from triage.mime import ParsedEmail, parse_email
from triage.models import Attachment, AuditEvent, Message, Ticket
from triage.services.triage import message_enqueue_triage

logger = logging.getLogger(__name__)

TICKET_TAG_RE = re.compile(r"\[#(\d+)\]")


@dataclass(frozen=True)
class IngestResult:
    message: Message
    created: bool


def email_ingest(raw_mime: bytes, *, source: str) -> IngestResult:
    """Store one email (raw kept), thread it into a ticket, enqueue triage on commit.

    Idempotent on Message-ID: the unique constraint, not a prior read, decides, so
    two concurrent ingests of one mail give one row and one triage task.
    """
    parsed = parse_email(raw_mime)
    existing = _existing_inbound(parsed.message_id)
    if existing is not None:
        return IngestResult(message=existing, created=False)
    try:
        with transaction.atomic():
            message = _store(raw_mime, parsed, source=source)
    except IntegrityError:
        existing = _existing_inbound(parsed.message_id)
        if existing is None:
            raise
        logger.info("Concurrent duplicate of %s ignored", parsed.message_id)
        return IngestResult(message=existing, created=False)
    return IngestResult(message=message, created=True)


def _existing_inbound(message_id: str) -> Message | None:
    return Message.objects.filter(
        direction=Message.Direction.INBOUND, message_id=message_id
    ).first()


def _store(raw_mime: bytes, parsed: ParsedEmail, *, source: str) -> Message:
    ticket = _thread(parsed)
    new_ticket = ticket is None
    if ticket is None:
        ticket = Ticket.objects.create(
            subject=parsed.subject,
            customer_email=parsed.from_address,
            customer_name=parsed.from_name,
        )
    elif ticket.status in (Ticket.Status.WAITING, Ticket.Status.CLOSED):
        # A customer's reply reopens the conversation.
        ticket.status = Ticket.Status.NEW
        ticket.save(update_fields=["status", "updated_at"])
    cap = settings.TRIAGE_RAW_MAX_BYTES
    message = Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.INBOUND,
        source=source,
        message_id=parsed.message_id,
        message_id_synthetic=parsed.message_id_synthetic,
        in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references),
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        to=parsed.to,
        cc=parsed.cc,
        subject=parsed.subject,
        sent_at=parsed.sent_at,
        text_body=parsed.text_body,
        html_body=parsed.html_body,
        raw=raw_mime[:cap],
        raw_size=len(raw_mime),
        raw_sha256=parsed.raw_sha256,
        raw_truncated=len(raw_mime) > cap,
        is_malformed=parsed.is_malformed,
        parse_defects=parsed.defects,
    )
    _store_attachments(message, parsed)
    AuditEvent.objects.create(
        ticket=ticket,
        action="ticket_created" if new_ticket else "message_received",
        detail={"message": message.pk, "source": source},
    )
    transaction.on_commit(lambda: message_enqueue_triage(message.pk))
    return message


def _thread(parsed: ParsedEmail) -> Ticket | None:
    """In-Reply-To, then References (newest first), then a [#id] subject tag."""
    candidates = [parsed.in_reply_to, *reversed(parsed.references)]
    candidates = [c for c in candidates if c]
    if candidates:
        known = {
            m.message_id: m.ticket
            for m in Message.objects.filter(message_id__in=candidates).select_related(
                "ticket"
            )
        }
        for candidate in candidates:
            if candidate in known:
                return known[candidate]
    tag = TICKET_TAG_RE.search(parsed.subject)
    if tag:
        # Only trust the tag when the sender is the ticket's customer: anyone can
        # type "[#12]" into a subject.
        return Ticket.objects.filter(
            pk=int(tag.group(1)), customer_email=parsed.from_address
        ).first()
    return None


def _store_attachments(message: Message, parsed: ParsedEmail) -> None:
    max_bytes = settings.TRIAGE_ATTACHMENT_MAX_BYTES
    max_count = settings.TRIAGE_ATTACHMENT_MAX_COUNT
    for index, part in enumerate(parsed.attachments):
        attachment = Attachment(
            message=message,
            filename=part.filename,
            content_type=part.content_type[:255],
            size=len(part.payload),
            sha256=hashlib.sha256(part.payload).hexdigest(),
        )
        if index >= max_count:
            attachment.flagged = True
            attachment.flag_reason = f"over the cap of {max_count} attachments"
        elif len(part.payload) > max_bytes:
            attachment.flagged = True
            attachment.flag_reason = f"larger than {max_bytes} bytes"
        else:
            # Stored under a generated name: the sender's filename is only metadata.
            attachment.file.save(
                f"{attachment.sha256[:16]}.bin", ContentFile(part.payload), save=False
            )
        attachment.save()
