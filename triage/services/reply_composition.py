"""The outgoing email of a draft: subject, threading headers, body, checked
header values; pure functions of the stored rows."""

from __future__ import annotations

import logging
import re
from email.header import decode_header, make_header
from email.utils import formatdate, parseaddr

from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.template.loader import render_to_string

from triage.attachments import content_type_clean
from triage.models import Attachment, Message, ReplyDraft, Ticket
from triage.services.reply_common import (
    OutgoingAttachment,
    OutgoingReply,
    ReplyRefused,
)

logger = logging.getLogger(__name__)


# Anything a mail client or Python's email package may treat as a line break.
LINE_BREAK_RE = re.compile(r"[\r\n\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


# "Re:", "AW:", "[#12]" ... already in front of the customer's subject.
SUBJECT_PREFIX_RE = re.compile(
    r"^(?:\s*(?:(?:re|aw|sv|antw|fw|fwd|wg|tr)\s*(?:\[\d+\])?\s*:|\[#\d+\]))+\s*",
    re.IGNORECASE,
)


REFERENCES_MAX = 20


def reply_subject(ticket: Ticket, parent: Message | None = None) -> str:
    """`Re: [#<ticket>] <subject>`: the tag threads the customer's answer back."""
    base = (parent.subject if parent and parent.subject else ticket.subject) or ""
    base = SUBJECT_PREFIX_RE.sub("", base).strip() or "Your support request"
    return f"Re: [#{ticket.pk}] {base}"


def reply_compose(draft: ReplyDraft) -> OutgoingReply:
    """Build the email for a draft. Raises ReplyRefused for any unsafe header.

    The recipient is always the ticket's customer, never an address from a body
    or a draft: a prompt-injected "send this to ..." has nowhere to go.
    """
    ticket = draft.ticket
    parent = _reply_parent(ticket, draft.in_reply_to_message)
    to = _address_check("recipient", ticket.customer_email)
    from_email = settings.DEFAULT_FROM_EMAIL
    _header_check("sender", from_email)
    _address_check("sender", parseaddr(from_email)[1])
    subject = _header_check("subject", reply_subject(ticket, parent))
    in_reply_to, references = reply_thread_ids(ticket, parent)
    body_text = (
        draft.text_customer_language.strip()
        if reply_in_customer_language(draft)
        else draft.text.strip()
    )
    body = render_to_string(
        "email/reply.txt",
        {
            "body": body_text,
            "ticket": ticket,
            "parent": parent,
            "quoted": _quote(parent.text_body) if parent else "",
            "signature": settings.TRIAGE_AGENT_SIGNATURE,
            "shop_name": settings.TRIAGE_SHOP_NAME,
        },
    )
    return OutgoingReply(
        draft_id=draft.pk,
        ticket_id=ticket.pk,
        from_email=from_email,
        to=to,
        subject=subject,
        body=body,
        message_id=_header_check("Message-ID", reply_message_id(draft)),
        in_reply_to=in_reply_to,
        references=references,
        date=formatdate(usegmt=True),
        cc=tuple(_address_check("Cc", a) for a in reply_cc_addresses(draft.cc)),
        attachments=_attachments(draft),
    )


def _attachments(draft: ReplyDraft) -> tuple[OutgoingAttachment, ...]:
    rows = Attachment.objects.filter(draft=draft, flagged=False).exclude(file="")
    return tuple(
        OutgoingAttachment(
            filename=_header_check("attachment name", a.filename or "attachment"),
            content_type=content_type_clean(a.content_type),
            storage_name=a.file.name,
        )
        for a in rows.order_by("pk")
    )


def reply_cc_addresses(cc: str) -> list[str]:
    """The draft's Cc field split into addresses (checked by reply_compose)."""
    return [a.strip() for a in re.split(r"[,;\s]+", cc or "") if a.strip()]


def reply_customer_language(draft: ReplyDraft) -> str:
    """The customer's language when it is not the agents' one, else ''."""
    language = (draft.customer_language or draft.ticket.language or "").lower()
    agents = settings.TRIAGE_AGENT_LANGUAGE.lower()
    if not language or language.split("-")[0] == agents.split("-")[0]:
        return ""
    return language


def reply_in_customer_language(draft: ReplyDraft) -> bool:
    """Whether the customer-language text is what goes out (else the agents')."""
    return bool(reply_customer_language(draft) and draft.text_customer_language.strip())


def reply_message_id(draft: ReplyDraft) -> str:
    """Stable per draft, so every attempt at one reply is the same email."""
    domain = settings.TRIAGE_SUPPORT_ADDRESS.rpartition("@")[2] or "triage.invalid"
    return f"<reply-{draft.idempotency_key}@{domain}>"


def _email(outgoing: OutgoingReply) -> mail.EmailMessage:
    # To is the ticket's customer; Cc only what an agent typed on the draft
    # (checked in reply_compose); never a Bcc.
    message = mail.EmailMessage(
        subject=outgoing.subject,
        body=outgoing.body,
        from_email=outgoing.from_email,
        to=[outgoing.to],
        cc=list(outgoing.cc),
        headers=outgoing.headers(),
    )
    storage = Attachment._meta.get_field("file").storage
    for attached in outgoing.attachments:
        with storage.open(attached.storage_name, "rb") as handle:
            content = handle.read()
        message.attach(attached.filename, content, attached.content_type)
    return message


def _reply_parent(ticket: Ticket, parent: Message | None) -> Message | None:
    if parent is not None:
        return parent
    return (
        ticket.messages.filter(direction=Message.Direction.INBOUND)
        .order_by("-received_at", "-pk")
        .first()
    )


def _header_check(name: str, value: str) -> str:
    """Refuse a header value that is, or decodes to, more than one line.

    Encoded words count: "=?utf-8?q?Hi=0D=0ABcc:_x?=" is a line break once a mail
    client decodes it.
    """
    try:
        decoded = str(make_header(decode_header(value)))
    except Exception as exc:
        raise ReplyRefused(f"The {name} has malformed encoded words.") from exc
    if LINE_BREAK_RE.search(value) or LINE_BREAK_RE.search(decoded):
        raise ReplyRefused(f"The {name} contains a line break; refusing to send.")
    return value


def _address_check(name: str, address: str) -> str:
    _header_check(name, address)
    if any(c in address for c in ',;<>"() ') or address.count("@") != 1:
        raise ReplyRefused(f"The {name} must be one plain email address.")
    try:
        validate_email(address)
    except ValidationError as exc:
        raise ReplyRefused(f"The {name} {address!r} is not a valid address.") from exc
    return address


def _quote(text: str, max_lines: int = 60) -> str:
    lines = text.strip().splitlines()
    quoted = [f"> {line}".rstrip() for line in lines[:max_lines]]
    if len(lines) > max_lines:
        quoted.append("> [...]")
    return "\n".join(quoted)


# RFC 5322 msg-id with dot-atom sides: no spaces, quotes, brackets inside, and no
# "=?" (a client may decode it as an encoded word).
VALID_MSG_ID_RE = re.compile(
    r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\[\]-]+>"
)


def reply_thread_ids(
    ticket: Ticket, parent: Message | None
) -> tuple[str, tuple[str, ...]]:
    """(In-Reply-To, References) of a reply, from stored, valid ids only.

    The parent's References header was written by whoever sent it: only the ids in
    it that are messages of this ticket, and well-formed, are carried on, so a
    poisoned header can neither leak into the reply nor make it unsendable.
    """
    if parent is None or parent.message_id_synthetic:
        return "", ()
    wanted = [*parent.references.split(), parent.message_id]
    valid = [i for i in dict.fromkeys(wanted) if _valid_msg_id(i)]
    stored = set(
        Message.objects.filter(ticket=ticket, message_id__in=valid).values_list(
            "message_id", flat=True
        )
    )
    references = [i for i in valid if i in stored][-REFERENCES_MAX:]
    in_reply_to = parent.message_id if parent.message_id in references else ""
    return in_reply_to, tuple(references)


def _valid_msg_id(value: str) -> bool:
    return bool(VALID_MSG_ID_RE.fullmatch(value)) and "=?" not in value
