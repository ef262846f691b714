"""The approval gate: edit, approve or reject a reply draft, and send it exactly once.

State machine of a ReplyDraft::

    drafted --edit--> drafted --approve--> approved --claim--> sending --> sent
       ^  \\--reject--> rejected --edit--/      ^                  |
       |                                        \\---- released ---/  (SMTP error)
    failed <--(gave up / refused / outcome unknown)-- approved | sending

Exactly once rests on three things:
- every transition happens under `select_for_update` on the draft row, so a double
  click, two approvers or two send tasks serialise and only one wins;
- a send first *claims* the draft (approved -> sending, committed) before it talks
  to SMTP; whoever finds it `sending` does not send;
- the email's Message-ID is derived from the draft's idempotency key, so a crash
  between the SMTP "250 OK" and our commit is detectable at the mail server and a
  re-send is the same message to receivers that de-duplicate on Message-ID. Such a
  claim is never retried automatically: past its lease the draft becomes `failed`
  with "outcome unknown" and an approver decides.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import formatdate, parseaddr
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, close_old_connections, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from triage import queue
from triage.models import AuditEvent, Message, ReplyDraft, Ticket

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser

PERM_ADD = "triage.add_replydraft"
PERM_EDIT = "triage.change_replydraft"
PERM_APPROVE = "triage.approve_replydraft"

TEXT_MAX_CHARS = 20_000
REASON_MAX_CHARS = 2_000
EDITABLE = (ReplyDraft.Status.DRAFTED, ReplyDraft.Status.REJECTED)
# Anything a mail client or Python's email package may treat as a line break.
LINE_BREAK_RE = re.compile(r"[\r\n\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# "Re:", "AW:", "[#12]" ... already in front of the customer's subject.
SUBJECT_PREFIX_RE = re.compile(
    r"^(?:\s*(?:(?:re|aw|sv|antw|fw|fwd|wg|tr)\s*(?:\[\d+\])?\s*:|\[#\d+\]))+\s*",
    re.IGNORECASE,
)
REFERENCES_MAX = 20


class ReplyRefused(ValidationError):
    """The request is valid in form but not allowed now (state, content, headers)."""


class SendOutcome(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    IN_FLIGHT = "in_flight"  # another task holds a live claim
    NOT_APPROVED = "not_approved"
    REFUSED = "refused"  # unsafe headers: marked failed, nothing sent
    OUTCOME_UNKNOWN = "outcome_unknown"  # a claim died: marked failed
    GONE = "gone"


@dataclass(frozen=True)
class OutgoingReply:
    """Everything the SMTP step needs, composed and checked inside the claim."""

    draft_id: int
    ticket_id: int
    from_email: str
    to: str
    subject: str
    body: str
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    date: str

    def headers(self) -> dict[str, str]:
        headers = {"Message-ID": self.message_id, "Date": self.date}
        if self.in_reply_to:
            headers["In-Reply-To"] = self.in_reply_to
        if self.references:
            headers["References"] = " ".join(self.references)
        return headers


# --- Agents and approvers ---


def reply_create(
    *, ticket_id: int, user: User, text: str, text_customer_language: str = ""
) -> ReplyDraft:
    """An agent writes a reply from scratch (no model draft, or a better idea)."""
    _require(user, PERM_ADD)
    text, text_customer_language = _clean_texts(text, text_customer_language)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        parent = _reply_parent(ticket, None)
        draft = ReplyDraft.objects.create(
            ticket=ticket,
            in_reply_to_message=parent,
            text=text,
            text_customer_language=text_customer_language,
            customer_language=ticket.language,
            created_by=ReplyDraft.Author.AGENT,
            author=user,
        )
        _audit(ticket, user, "reply_created", draft=draft.pk, chars=len(text))
    return draft


def reply_edit(
    *, draft_id: int, user: User, text: str, text_customer_language: str = ""
) -> ReplyDraft:
    """Save an agent's edit. A rejected draft goes back to `drafted` for review.

    Setting `author` also tells a re-run triage not to overwrite this draft.
    """
    _require(user, PERM_EDIT)
    text, text_customer_language = _clean_texts(text, text_customer_language)
    with transaction.atomic():
        draft = _locked(draft_id)
        if draft.status not in EDITABLE:
            raise ReplyRefused(
                f"This draft is {draft.get_status_display().lower()} and can no "
                "longer be edited."
            )
        changed = [
            name
            for name, value in (
                ("text", text),
                ("text_customer_language", text_customer_language),
            )
            if getattr(draft, name) != value
        ]
        if not changed and draft.status == ReplyDraft.Status.DRAFTED:
            return draft
        previous = {name: getattr(draft, name) for name in changed}
        previous_status = draft.status
        draft.text = text
        draft.text_customer_language = text_customer_language
        draft.author = user
        draft.status = ReplyDraft.Status.DRAFTED
        draft.rejected_reason = ""
        draft.save()
        _audit(
            draft.ticket,
            user,
            "reply_edited",
            draft=draft.pk,
            fields=changed,
            previous=previous,
            previous_status=previous_status,
        )
    return draft


def reply_approve(
    *, draft_id: int, user: User, version: str | None = None
) -> ReplyDraft:
    """Approve a draft for sending; the send is enqueued once, after commit.

    Idempotent: approving an approved, sending or sent draft changes nothing and
    enqueues nothing (a double click, or two approvers at once). `version` is what
    the approver saw (`reply_version`); a draft edited since is refused so nobody
    approves text they have not read. A failed send can be approved again: it
    re-sends with the same Message-ID.
    """
    _require(user, PERM_APPROVE)
    with transaction.atomic():
        draft = _locked(draft_id)
        if draft.status in (
            ReplyDraft.Status.APPROVED,
            ReplyDraft.Status.SENDING,
            ReplyDraft.Status.SENT,
        ):
            logger.info(
                "Draft %s is already %s; approve ignored", draft.pk, draft.status
            )
            return draft
        if draft.status not in (ReplyDraft.Status.DRAFTED, ReplyDraft.Status.FAILED):
            raise ReplyRefused(
                "A rejected draft must be edited (and so reviewed again) first."
            )
        if version is not None and version != reply_version(draft):
            raise ReplyRefused(
                "The draft was changed since you opened it. Read it again, then "
                "approve."
            )
        if not draft.text.strip():
            raise ReplyRefused("An empty reply cannot be approved.")
        # Refuse unsafe headers now, where the approver sees why; the send checks
        # again.
        reply_compose(draft)
        resend = draft.status == ReplyDraft.Status.FAILED
        draft.status = ReplyDraft.Status.APPROVED
        draft.approved_by = user
        draft.approved_at = timezone.now()
        draft.rejected_reason = ""
        draft.save()
        _audit(
            draft.ticket,
            user,
            "reply_approved",
            draft=draft.pk,
            version=reply_version(draft),
            resend=resend,
        )
        draft_pk = draft.pk
        transaction.on_commit(lambda: reply_enqueue_send(draft_pk))
    return draft


def reply_reject(*, draft_id: int, user: User, reason: str) -> ReplyDraft:
    reason = (reason or "").strip()
    _require(user, PERM_APPROVE)
    if not reason:
        raise ReplyRefused("Say why the draft is rejected.")
    if len(reason) > REASON_MAX_CHARS:
        raise ReplyRefused(f"Keep the reason under {REASON_MAX_CHARS} characters.")
    with transaction.atomic():
        draft = _locked(draft_id)
        if draft.status not in (ReplyDraft.Status.DRAFTED, ReplyDraft.Status.FAILED):
            raise ReplyRefused(
                f"A draft that is {draft.get_status_display().lower()} cannot be "
                "rejected."
            )
        draft.status = ReplyDraft.Status.REJECTED
        draft.rejected_reason = reason
        draft.save()
        _audit(draft.ticket, user, "reply_rejected", draft=draft.pk, reason=reason)
    return draft


def reply_version(draft: ReplyDraft) -> str:
    """A short fingerprint of the texts an approver reads."""
    payload = f"{draft.text}\x00{draft.text_customer_language}".encode()
    return hashlib.sha256(payload).hexdigest()[:16]


# --- Sending ---


def reply_enqueue_send(draft_id: int) -> bool:
    """Publish the send task. False when the broker (or an eager send) failed.

    The draft stays `approved` then; the failure is on the draft and in the log,
    and nothing is sent twice by trying again because the send claims the draft.
    """
    return queue.publish(queue.SEND_REPLY, [draft_id])


def reply_send(draft_id: int) -> SendOutcome:
    """Send an approved draft to the ticket's customer, at most once.

    Raises what SMTP raised after releasing the claim (back to `approved`), so the
    task can retry; the task gives up through `reply_send_fail`.
    """
    claimed = _send_claim(draft_id)
    if isinstance(claimed, SendOutcome):
        return claimed
    try:
        _smtp_deliver(claimed)
    except Exception as exc:
        _send_release(claimed, exc)
        raise
    _send_record(claimed)
    return SendOutcome.SENT


def reply_send_fail(*, draft_id: int, error: str) -> None:
    """The send task gave up: an approved (released) draft becomes `failed`."""
    with transaction.atomic():
        draft = ReplyDraft.objects.select_for_update().filter(pk=draft_id).first()
        if draft is None or draft.status != ReplyDraft.Status.APPROVED:
            return
        draft.status = ReplyDraft.Status.FAILED
        draft.last_error = error[:10_000]
        draft.save()
        _audit(draft.ticket, None, "reply_send_failed", draft=draft.pk, error=error)


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
    in_reply_to = ""
    references: list[str] = []
    if parent is not None and not parent.message_id_synthetic:
        in_reply_to = _header_check("In-Reply-To", parent.message_id)
        for ref in [*parent.references.split(), parent.message_id]:
            if ref not in references:
                references.append(_header_check("References", ref))
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
        references=tuple(references[-REFERENCES_MAX:]),
        date=formatdate(usegmt=True),
    )


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


def _send_claim(draft_id: int) -> OutgoingReply | SendOutcome:
    with transaction.atomic():
        draft = (
            ReplyDraft.objects.select_for_update(of=("self",))
            .select_related("ticket", "in_reply_to_message")
            .filter(pk=draft_id)
            .first()
        )
        if draft is None:
            logger.warning("Draft %s vanished before sending", draft_id)
            return SendOutcome.GONE
        if draft.status == ReplyDraft.Status.SENT:
            logger.info("Draft %s already sent; nothing to do", draft_id)
            return SendOutcome.ALREADY_SENT
        if draft.status == ReplyDraft.Status.SENDING:
            return _send_claim_held(draft)
        if draft.status != ReplyDraft.Status.APPROVED:
            logger.warning(
                "Draft %s is %s, not approved: not sending", draft_id, draft.status
            )
            return SendOutcome.NOT_APPROVED
        try:
            outgoing = reply_compose(draft)
        except ReplyRefused as exc:
            error = " ".join(exc.messages)
            logger.warning("Draft %s refused at send: %s", draft_id, error)
            draft.status = ReplyDraft.Status.FAILED
            draft.last_error = error
            draft.save()
            _audit(
                draft.ticket, None, "reply_send_refused", draft=draft.pk, error=error
            )
            return SendOutcome.REFUSED
        draft.status = ReplyDraft.Status.SENDING
        draft.send_attempts += 1
        # `updated_at` (auto_now) doubles as the claim time for the lease.
        draft.save()
    return outgoing


def _send_claim_held(draft: ReplyDraft) -> SendOutcome:
    held_for = (timezone.now() - draft.updated_at).total_seconds()
    if held_for < settings.TRIAGE_SEND_LEASE_SECONDS:
        logger.info(
            "Draft %s is being sent by another task (%.0fs)", draft.pk, held_for
        )
        return SendOutcome.IN_FLIGHT
    # The claimant died between claiming and recording: SMTP may or may not have
    # accepted the mail. Sending again could mail the customer twice, so stop and
    # let an approver look (the Message-ID is in the mail server's log).
    error = (
        f"Send outcome unknown: an attempt claimed this draft {held_for:.0f}s ago "
        "and never finished. Check the mail server for Message-ID "
        f"{reply_message_id(draft)} before approving it again."
    )
    logger.error("Draft %s: %s", draft.pk, error)
    draft.status = ReplyDraft.Status.FAILED
    draft.last_error = error
    draft.save()
    _audit(draft.ticket, None, "reply_send_unknown", draft=draft.pk, error=error)
    return SendOutcome.OUTCOME_UNKNOWN


def _smtp_deliver(outgoing: OutgoingReply) -> None:
    message = _email(outgoing)
    with mail.get_connection(fail_silently=False) as connection:
        if connection.send_messages([message]) != 1:
            raise RuntimeError("The mail backend accepted no message")
    logger.info(
        "Sent draft %s to the customer of ticket %s as %s",
        outgoing.draft_id,
        outgoing.ticket_id,
        outgoing.message_id,
    )


def _send_release(outgoing: OutgoingReply, exc: BaseException) -> None:
    error = f"{type(exc).__name__}: {exc}"
    with transaction.atomic():
        draft = ReplyDraft.objects.select_for_update().get(pk=outgoing.draft_id)
        if draft.status != ReplyDraft.Status.SENDING:
            return
        draft.status = ReplyDraft.Status.APPROVED
        draft.last_error = error[:10_000]
        draft.save()
        _audit(
            draft.ticket,
            None,
            "reply_send_error",
            draft=draft.pk,
            attempt=draft.send_attempts,
            error=error,
        )


def _send_record(outgoing: OutgoingReply) -> None:
    """Store the sent email and mark the draft sent.

    SMTP already said yes, so a database blip is retried here a few times; past
    that the claim stays `sending` and its lease decides (outcome unknown).
    """
    for attempt in range(1, 4):
        try:
            _send_record_once(outgoing)
            return
        except DatabaseError:
            if attempt == 3:
                logger.critical(
                    "Draft %s was sent as %s but could not be recorded",
                    outgoing.draft_id,
                    outgoing.message_id,
                )
                raise
            logger.warning(
                "Recording sent draft %s failed; retrying", outgoing.draft_id
            )
            close_old_connections()
            time.sleep(0.5 * attempt)


def _send_record_once(outgoing: OutgoingReply) -> None:
    now = timezone.now()
    raw = _email(outgoing).message().as_bytes()
    with transaction.atomic():
        draft = (
            ReplyDraft.objects.select_for_update(of=("self",))
            .select_related("ticket", "approved_by")
            .get(pk=outgoing.draft_id)
        )
        if draft.status != ReplyDraft.Status.SENDING:
            logger.error(
                "Draft %s was sent but is %s now; recording anyway",
                draft.pk,
                draft.status,
            )
        sent, _ = Message.objects.get_or_create(
            direction=Message.Direction.OUTBOUND,
            message_id=outgoing.message_id,
            defaults={
                "ticket": draft.ticket,
                "source": "smtp",
                "in_reply_to": outgoing.in_reply_to,
                "references": " ".join(outgoing.references),
                "from_address": parseaddr(outgoing.from_email)[1],
                "from_name": parseaddr(outgoing.from_email)[0],
                "to": outgoing.to,
                "subject": outgoing.subject,
                "sent_at": now,
                "received_at": now,
                "text_body": outgoing.body,
                "raw": raw,
                "raw_size": len(raw),
                "raw_sha256": hashlib.sha256(raw).hexdigest(),
                # Nothing to triage in our own mail; keeps sweepers away from it.
                "triage_status": Message.TriageStatus.TRIAGED,
            },
        )
        draft.status = ReplyDraft.Status.SENT
        draft.sent_at = now
        draft.sent_message = sent
        draft.last_error = ""
        draft.save()
        ticket = draft.ticket
        if ticket.status in (Ticket.Status.NEW, Ticket.Status.NEEDS_REVIEW):
            ticket.status = Ticket.Status.WAITING
            ticket.save(update_fields=["status", "updated_at"])
        _audit(
            ticket,
            None,
            "reply_sent",
            draft=draft.pk,
            message=sent.pk,
            message_id=outgoing.message_id,
            to=outgoing.to,
            approved_by=draft.approved_by.get_username() if draft.approved_by else "",
        )


def _email(outgoing: OutgoingReply) -> mail.EmailMessage:
    # To is the only recipient field: no Cc, no Bcc, ever.
    return mail.EmailMessage(
        subject=outgoing.subject,
        body=outgoing.body,
        from_email=outgoing.from_email,
        to=[outgoing.to],
        headers=outgoing.headers(),
    )


# --- Helpers ---


def _require(user: User | None, permission: str) -> None:
    if user is None or not user.is_active or not user.has_perm(permission):
        raise PermissionDenied(f"Needs the {permission} permission.")


def _locked(draft_id: int) -> ReplyDraft:
    return (
        ReplyDraft.objects.select_for_update(of=("self",))
        .select_related("ticket", "in_reply_to_message")
        .get(pk=draft_id)
    )


def _clean_texts(text: str, text_customer_language: str) -> tuple[str, str]:
    text = (text or "").replace("\r\n", "\n").strip()
    text_customer_language = (
        (text_customer_language or "").replace("\r\n", "\n").strip()
    )
    if not text:
        raise ReplyRefused("The reply text cannot be empty.")
    if max(len(text), len(text_customer_language)) > TEXT_MAX_CHARS:
        raise ReplyRefused(f"Keep the reply under {TEXT_MAX_CHARS} characters.")
    return text, text_customer_language


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


def _audit(ticket: Ticket, actor: Any, action: str, **detail: Any) -> None:
    AuditEvent.objects.create(
        ticket=ticket,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        detail=detail,
    )
