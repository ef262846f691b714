"""Ingest: raw MIME in, Ticket + Message + Attachments stored, triage enqueued."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, models, transaction

from triage.mime import ArchiveLimits, ParsedEmail, archive_risk, parse_email
from triage.models import Attachment, AuditEvent, Message, Ticket
from triage.services.denorm import ticket_search_refresh
from triage.services.triage import message_enqueue_triage

logger = logging.getLogger(__name__)

TICKET_TAG_RE = re.compile(r"\[#(\d+)\]")
PROVIDER_ID_RE = re.compile(r"[A-Za-z0-9._+=-]{1,200}")
# Threading looks at In-Reply-To and the newest References; a mail listing
# thousands of ids must not turn into a query with thousands of parameters.
MAX_THREAD_CANDIDATES = 30
# Attachments over the count cap still get a (flagged, empty) row so agents see
# them, up to this many more; past that they are only counted in parse_defects.
MAX_FLAGGED_EXTRA_ATTACHMENTS = 50


@dataclass(frozen=True)
class IngestResult:
    message: Message
    created: bool


def email_ingest(
    raw_mime: bytes, *, source: str, provider_message_id: str = ""
) -> IngestResult:
    """Store one email (raw kept), thread it into a ticket, enqueue triage on commit.

    Idempotent on Message-ID: the unique constraint, not a prior read, decides, so
    two concurrent ingests of one mail give one row and one triage task. A mail
    without a Message-ID dedupes on the provider's id when there is one (a provider
    retrying a webhook), else on the sha256 of the raw bytes.
    """
    raw_mime = bytes(raw_mime)
    parsed = parse_email(raw_mime)
    if parsed.message_id_synthetic and provider_message_id:
        parsed.message_id = provider_rfc_message_id(source, provider_message_id)
    # No look-up first: new mail is the common case, and the unique constraint has
    # to decide anyway when two copies race. A duplicate costs a rolled-back insert.
    try:
        with transaction.atomic():
            message = _store(
                raw_mime,
                parsed,
                source=source,
                provider_message_id=provider_message_id,
            )
    except IntegrityError:
        existing = _existing_inbound(parsed.message_id)
        if existing is None:
            raise
        logger.info("Duplicate of %s ignored", parsed.message_id)
        return IngestResult(message=existing, created=False)
    return IngestResult(message=message, created=True)


def provider_rfc_message_id(source: str, provider_message_id: str) -> str:
    """A stable Message-ID for a mail that has none: `<postmark.{id}@triage.invalid>`.

    Ids that are not plain tokens (IMAP URLs, ids with spaces) are hashed so the
    result is always a valid msg-id.
    """
    token = provider_message_id.strip().strip("<>")
    if not PROVIDER_ID_RE.fullmatch(token):
        token = hashlib.sha256(provider_message_id.encode()).hexdigest()[:40]
    label = re.sub(r"[^a-z0-9-]", "", source.lower())[:32] or "provider"
    return f"<{label}.{token}@triage.invalid>"


def _existing_inbound(message_id: str) -> Message | None:
    # get(), not first(): no ORDER BY on a unique lookup; the raw bytes (up to
    # TRIAGE_RAW_MAX_BYTES) are not needed to answer "duplicate".
    try:
        return Message.objects.defer("raw").get(
            direction=Message.Direction.INBOUND, message_id=message_id
        )
    except Message.DoesNotExist:
        return None


def _fit(model: type[models.Model], name: str, value: str) -> str:
    """Cut a parsed value to its column; PostgreSQL refuses longer varchar values."""
    max_length = model._meta.get_field(name).max_length
    return value[:max_length] if max_length else value


def _store(
    raw_mime: bytes, parsed: ParsedEmail, *, source: str, provider_message_id: str
) -> Message:
    ticket = _thread(parsed)
    new_ticket = ticket is None
    if ticket is None:
        ticket = Ticket.objects.create(
            subject=_fit(Ticket, "subject", parsed.subject),
            customer_email=_fit(Ticket, "customer_email", parsed.from_address),
            customer_name=_fit(Ticket, "customer_name", parsed.from_name),
        )
    elif ticket.status in (Ticket.Status.WAITING, Ticket.Status.CLOSED):
        # A customer's reply reopens the conversation.
        ticket.status = Ticket.Status.NEW
        ticket.save(update_fields=["status", "updated_at"])
    cap = settings.TRIAGE_RAW_MAX_BYTES
    message = Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.INBOUND,
        source=_fit(Message, "source", source),
        provider_message_id=_fit(Message, "provider_message_id", provider_message_id),
        message_id=parsed.message_id,
        message_id_synthetic=parsed.message_id_synthetic,
        in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references),
        from_address=_fit(Message, "from_address", parsed.from_address),
        from_name=_fit(Message, "from_name", parsed.from_name),
        to=parsed.to,
        cc=parsed.cc,
        subject=_fit(Message, "subject", parsed.subject),
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
    ticket_search_refresh([ticket.pk])
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
    candidates = [c for c in candidates if c][:MAX_THREAD_CANDIDATES]
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
    limits = ArchiveLimits(
        max_uncompressed=settings.TRIAGE_ARCHIVE_MAX_UNCOMPRESSED_BYTES,
        max_ratio=settings.TRIAGE_ARCHIVE_MAX_RATIO,
        max_members=settings.TRIAGE_ARCHIVE_MAX_MEMBERS,
    )
    rows_cap = max_count + MAX_FLAGGED_EXTRA_ATTACHMENTS
    for index, part in enumerate(parsed.attachments[:rows_cap]):
        attachment = Attachment(
            message=message,
            filename=part.filename,
            content_type=part.content_type[:255],
            size=len(part.payload),
            sha256=hashlib.sha256(part.payload).hexdigest(),
        )
        if index >= max_count:
            attachment.flag_reason = f"over the cap of {max_count} attachments"
        elif len(part.payload) > max_bytes:
            attachment.flag_reason = f"larger than {max_bytes} bytes"
        else:
            attachment.flag_reason = archive_risk(part.payload, limits)[:255]
        if attachment.flag_reason:
            attachment.flagged = True
            logger.warning(
                "Attachment %r of message %s flagged: %s",
                attachment.filename,
                message.pk,
                attachment.flag_reason,
            )
        else:
            _store_file(attachment, part.payload)
        attachment.save()
    dropped = len(parsed.attachments) - rows_cap
    if dropped > 0:
        message.parse_defects = [
            *message.parse_defects,
            f"AttachmentsDropped:{dropped}",
        ]
        message.is_malformed = True
        message.save(update_fields=["parse_defects", "is_malformed"])


def _store_file(attachment: Attachment, payload: bytes) -> None:
    """Content-addressed: the same bytes (a retried or re-sent mail) share one file.

    Stored under a generated name: the sender's filename is only metadata.
    """
    field = attachment.file.field
    name = field.generate_filename(attachment, f"{attachment.sha256}.bin")
    if field.storage.exists(name):
        attachment.file.name = name
    else:
        attachment.file.save(name.rsplit("/", 1)[-1], ContentFile(payload), save=False)
