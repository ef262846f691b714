"""Ingest: raw MIME in, Ticket + Message + Attachments stored, triage enqueued."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction

from triage import queue
from triage.mime import (
    ArchiveLimits,
    ParsedEmail,
    archive_risk,
    clean_text,
    parse_email,
    plausible_moment,
    quick_message_id,
)
from triage.models import Attachment, AuditEvent, Message, Ticket
from triage.services.attachment_files import attachment_file_store
from triage.services.denorm import ticket_search_refresh
from triage.services.outgoing_webhooks import webhook_emit
from triage.services.sla import sla_apply
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
# Above this size a duplicate is looked for before the parse (a provider retrying a
# big or hostile mail must not pay the parse again); below it the parse costs less
# than the extra query, and the unique constraint decides anyway.
EARLY_DEDUPE_MIN_BYTES = 64 * 1024


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
    if len(raw_mime) >= EARLY_DEDUPE_MIN_BYTES:
        early_id = quick_message_id(raw_mime) or (
            provider_rfc_message_id(source, provider_message_id)
            if provider_message_id
            else ""
        )
        existing = _existing_inbound(early_id) if early_id else None
        if existing is not None:
            logger.info("Duplicate of %s ignored before parsing", early_id)
            return IngestResult(message=existing, created=False)
    parsed = parse_email(raw_mime, max_parts=settings.TRIAGE_MIME_MAX_PARTS)
    if parsed.message_id_synthetic and provider_message_id:
        parsed.message_id = provider_rfc_message_id(source, provider_message_id)
    # Small mail gets no look-up first: new mail is the common case, and the unique
    # constraint has to decide anyway when two copies race. A duplicate costs a
    # rolled-back insert.
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


def stored_values(
    model: type[models.Model], values: dict[str, Any], defects: list[str]
) -> dict[str, Any]:
    """Parsed values as the database can hold and give back: the one place where
    every header-derived value becomes a stored value.

    Text loses NUL and lone surrogates (PostgreSQL text and psycopg refuse them) and
    is cut to its column; JSON likewise, recursively (jsonb refuses \\u0000); a
    datetime is kept only as a plausible moment in UTC (PostgreSQL refuses zone
    offsets past +-15:59, and stores years Python cannot read back). Each value
    changed for the database is recorded as a defect, so the agent sees why.
    """
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        new = _storable(value)
        if isinstance(value, datetime):
            new = plausible_moment(value)
        if new != value:
            defects.append(f"Unstorable:{model.__name__}.{name}")
        if isinstance(new, str):
            max_length = getattr(model._meta.get_field(name), "max_length", None)
            if max_length and len(new) > max_length:
                new = new[:max_length]
        cleaned[name] = new
    return cleaned


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def _store(
    raw_mime: bytes, parsed: ParsedEmail, *, source: str, provider_message_id: str
) -> Message:
    defects = list(parsed.defects)
    ticket, mentioned = _thread(parsed)
    new_ticket = ticket is None
    if ticket is None:
        ticket = Ticket(
            **stored_values(
                Ticket,
                {
                    "subject": parsed.subject,
                    "customer_email": parsed.from_address,
                    "customer_name": parsed.from_name,
                },
                defects,
            )
        )
        sla_apply(ticket)  # issue 15: due by the default priority's target
        ticket.save(force_insert=True)
    elif ticket.status in (Ticket.Status.WAITING, Ticket.Status.CLOSED):
        # A customer's reply reopens the conversation.
        ticket.status = Ticket.Status.NEW
        ticket.save(update_fields=["status", "updated_at"])
    cap = settings.TRIAGE_RAW_MAX_BYTES
    values = stored_values(
        Message,
        {
            "source": source,
            "provider_message_id": provider_message_id,
            "message_id": parsed.message_id,
            "in_reply_to": parsed.in_reply_to,
            "references": " ".join(parsed.references),
            "from_address": parsed.from_address,
            "from_name": parsed.from_name,
            "to": parsed.to,
            "cc": parsed.cc,
            "subject": parsed.subject,
            "sent_at": parsed.sent_at,
            "text_body": parsed.text_body,
            "html_body": parsed.html_body,
        },
        defects,
    )
    message = Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.INBOUND,
        message_id_synthetic=parsed.message_id_synthetic,
        mentions_ticket=mentioned,
        raw=raw_mime[:cap],
        raw_size=len(raw_mime),
        raw_sha256=parsed.raw_sha256,
        raw_truncated=len(raw_mime) > cap,
        is_malformed=bool(defects),
        parse_defects=_storable(sorted(set(defects))),
        **values,
    )
    _store_attachments(message, parsed)
    ticket_search_refresh([ticket.pk])
    AuditEvent.objects.create(
        ticket=ticket,
        action="ticket_created" if new_ticket else "message_received",
        detail={"message": message.pk, "source": message.source},
    )
    from triage.services.spam import message_from_blocked_sender

    # Issue 15: a blocked sender's mail is kept but its ticket closed as spam.
    message_from_blocked_sender(message)
    if new_ticket and settings.TRIAGE_AUTOACK and not ticket.is_spam:
        # Issue 15: the receipt; the task decides whether this mail may get one.
        queue.publish_on_commit(queue.SEND_AUTOACK, [ticket.pk])
    if not new_ticket:
        # Issue 15: older unsent drafts answered a conversation that moved on.
        from triage.services.reply_direct import drafts_supersede

        drafts_supersede(message=message)
    if mentioned is not None:
        # The agent of the mentioned ticket learns that a stranger referred to it.
        AuditEvent.objects.create(
            ticket=mentioned,
            action="mentioned_by_stranger",
            detail={"message": message.pk, "ticket": ticket.pk},
        )
    if new_ticket:
        webhook_emit(
            "ticket.created",
            {
                "ticket": ticket.pk,
                "subject": ticket.subject,
                "customer_email": ticket.customer_email,
            },
        )
    webhook_emit(
        "message.received",
        {
            "ticket": ticket.pk,
            "message": message.pk,
            "message_id": message.message_id,
            "from": message.from_address,
            "subject": message.subject,
        },
    )
    transaction.on_commit(lambda: message_enqueue_triage(message.pk))
    return message


def _thread(parsed: ParsedEmail) -> tuple[Ticket | None, Ticket | None]:
    """(ticket to join, ticket only mentioned): In-Reply-To, then References (newest
    first), then a [#id] subject tag.

    Headers and tags are written by the sender, so they only thread a mail into a
    ticket its sender takes part in (`_participants`); a stranger's mail opens a
    ticket of its own that says which ticket it mentions. An id we sent (outbound)
    is looked up as ours first: an inbound mail that reused it as its own
    Message-ID cannot redirect the customer's answers.
    """
    candidates = [parsed.in_reply_to, *reversed(parsed.references)]
    candidates = list(dict.fromkeys(c for c in candidates if c))[:MAX_THREAD_CANDIDATES]
    found: Ticket | None = None
    if candidates:
        rows = Message.objects.filter(message_id__in=candidates).values_list(
            "message_id", "direction", "ticket_id"
        )
        known: dict[str, int] = {}
        for message_id, direction, ticket_id in rows:
            if direction == Message.Direction.OUTBOUND or message_id not in known:
                known[message_id] = ticket_id
        for candidate in candidates:
            if candidate in known:
                found = Ticket.objects.filter(pk=known[candidate]).first()
                break
    if found is None:
        tag = TICKET_TAG_RE.search(parsed.subject)
        if tag and len(tag.group(1)) < 19:  # a bigint; longer is no ticket of ours
            found = Ticket.objects.filter(pk=int(tag.group(1))).first()
    if found is not None:
        # Locked, so a merge committing meanwhile is seen, and the thread of a
        # merged ticket goes on in its target (one level: ticket_merge never
        # merges into a merged ticket).
        found = Ticket.objects.select_for_update().filter(pk=found.pk).first()
        if found is not None and found.merged_into_id:
            found = Ticket.objects.filter(pk=found.merged_into_id).first()
    if found is None:
        return None, None
    if parsed.from_address and parsed.from_address in _participants(found):
        return found, None
    logger.info(
        "Mail from %r mentions ticket %s but is no participant: new ticket",
        parsed.from_address,
        found.pk,
    )
    return None, found


def _participants(ticket: Ticket) -> set[str]:
    """Who may add mail to a ticket: its customer and the senders already in it."""
    senders = Message.objects.filter(
        ticket=ticket, direction=Message.Direction.INBOUND
    ).values_list("from_address", flat=True)
    return {a.lower() for a in [ticket.customer_email, *senders] if a}


def _store_attachments(message: Message, parsed: ParsedEmail) -> None:
    max_bytes = settings.TRIAGE_ATTACHMENT_MAX_BYTES
    max_count = settings.TRIAGE_ATTACHMENT_MAX_COUNT
    limits = ArchiveLimits(
        max_uncompressed=settings.TRIAGE_ARCHIVE_MAX_UNCOMPRESSED_BYTES,
        max_ratio=settings.TRIAGE_ARCHIVE_MAX_RATIO,
        max_members=settings.TRIAGE_ARCHIVE_MAX_MEMBERS,
    )
    rows_cap = max_count + MAX_FLAGGED_EXTRA_ATTACHMENTS
    defects: list[str] = []
    for index, part in enumerate(parsed.attachments[:rows_cap]):
        attachment = Attachment(
            message=message,
            size=len(part.payload),
            sha256=hashlib.sha256(part.payload).hexdigest(),
            **stored_values(
                Attachment,
                {"filename": part.filename, "content_type": part.content_type},
                defects,
            ),
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
            attachment_file_store(attachment, part.payload)
        attachment.save()
    dropped = len(parsed.attachments) - rows_cap
    if dropped > 0:
        defects.append(f"AttachmentsDropped:{dropped}")
    if defects:
        message.parse_defects = sorted({*message.parse_defects, *defects})
        message.is_malformed = True
        message.save(update_fields=["parse_defects", "is_malformed"])
