"""Agents and approvers: create, edit, approve or reject a reply draft (each
transition under `select_for_update`, see triage.services.replies)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from triage.models import ReplyDraft, Ticket
from triage.services.denorm import ticket_list_fields_refresh
from triage.services.outgoing_webhooks import webhook_emit
from triage.services.reply_attachments import (
    Upload,
    reply_attachments_check,
    reply_attachments_store,
)
from triage.services.reply_common import (
    EDITABLE,
    PERM_ADD,
    PERM_APPROVE,
    PERM_EDIT,
    REASON_MAX_CHARS,
    TEXT_MAX_CHARS,
    ReplyRefused,
    User,
    _audit,
    _locked,
    _require,
)
from triage.services.reply_composition import _reply_parent, reply_compose
from triage.services.reply_sending import reply_enqueue_send

logger = logging.getLogger(__name__)


def reply_create(
    *,
    ticket_id: int,
    user: User,
    text: str,
    text_customer_language: str = "",
    cc: str = "",
    attachments: Sequence[Upload] = (),
) -> ReplyDraft:
    """An agent writes a reply from scratch (no model draft, or a better idea)."""
    _require(user, PERM_ADD)
    text, text_customer_language = _clean_texts(text, text_customer_language)
    cc = _clean_cc(cc)
    reply_attachments_check(attachments)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        parent = _reply_parent(ticket, None)
        draft = ReplyDraft.objects.create(
            ticket=ticket,
            in_reply_to_message=parent,
            text=text,
            text_customer_language=text_customer_language,
            customer_language=ticket.language,
            cc=cc,
            created_by=ReplyDraft.Author.AGENT,
            author=user,
            arrived_at=parent.received_at if parent else ticket.created_at,
        )
        ticket_list_fields_refresh([ticket.pk])
        _audit(ticket, user, "reply_created", draft=draft.pk, chars=len(text))
        reply_attachments_store(draft=draft, user=user, files=attachments)
        webhook_emit(
            "draft.created",
            {"ticket": ticket.pk, "draft": draft.pk, "text": draft.text},
        )
    return draft


def reply_edit(
    *,
    draft_id: int,
    user: User,
    text: str,
    text_customer_language: str = "",
    attachments: Sequence[Upload] = (),
) -> ReplyDraft:
    """Save an agent's edit (and files added to it). A rejected draft goes back
    to `drafted` for review.

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
        if (
            not changed
            and not attachments
            and draft.status == ReplyDraft.Status.DRAFTED
        ):
            return draft
        previous = {name: getattr(draft, name) for name in changed}
        previous_status = draft.status
        draft.text = text
        draft.text_customer_language = text_customer_language
        draft.author = user
        draft.status = ReplyDraft.Status.DRAFTED
        draft.rejected_reason = ""
        draft.save()
        reply_attachments_store(draft=draft, user=user, files=attachments)
        ticket_list_fields_refresh([draft.ticket_id])
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
    the approver saw (`reply_version`) and is required; a missing one, or a draft
    edited since, is refused so nobody
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
        if not (version or "").strip():
            # Without it an approval would send whatever text is current, an
            # agent's later edit included, unseen (issue 10).
            raise ReplyRefused(
                "Say which version of the draft you approve: reload the ticket, "
                "read the draft, then approve."
            )
        if version != reply_version(draft):
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
        ticket_list_fields_refresh([draft.ticket_id])
        _audit(
            draft.ticket,
            user,
            "reply_approved",
            draft=draft.pk,
            version=reply_version(draft),
            resend=resend,
        )
        webhook_emit(
            "draft.approved",
            {
                "ticket": draft.ticket_id,
                "draft": draft.pk,
                "approved_by": user.get_username(),
                "text": draft.text,
            },
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
        ticket_list_fields_refresh([draft.ticket_id])
        _audit(draft.ticket, user, "reply_rejected", draft=draft.pk, reason=reason)
    return draft


def reply_version(draft: ReplyDraft) -> str:
    """A short fingerprint of the texts an approver reads."""
    payload = f"{draft.text}\x00{draft.text_customer_language}"
    if draft.cc:
        # Who else receives it is part of what the approver approves.
        payload += f"\x00cc:{draft.cc}"
    if draft.pk:
        # So are the files, which an agent may add after the approver looked.
        files = sorted(a.sha256 for a in draft.attachments.all())
        if files:
            payload += "\x00files:" + ",".join(files)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _clean_cc(cc: str) -> str:
    """Cc as typed by an agent: each address plain and valid, or refused now."""
    from triage.services.reply_composition import _address_check, reply_cc_addresses

    addresses = reply_cc_addresses(cc)
    if len(addresses) > CC_MAX:
        raise ReplyRefused(f"At most {CC_MAX} Cc addresses.")
    return ", ".join(_address_check("Cc", a) for a in addresses)


CC_MAX = 10


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
