"""What the reply services share: the draft states' vocabulary, permissions,
limits, outcomes and the small helpers (locking, audit)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeAlias

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from triage.models import AuditEvent, Message, ReplyDraft, Ticket

logger = logging.getLogger(__name__)


User: TypeAlias = AbstractBaseUser | AnonymousUser


PERM_ADD = "triage.add_replydraft"


PERM_EDIT = "triage.change_replydraft"


PERM_APPROVE = "triage.approve_replydraft"


TEXT_MAX_CHARS = 20_000


REASON_MAX_CHARS = 2_000


EDITABLE = (ReplyDraft.Status.DRAFTED, ReplyDraft.Status.REJECTED)


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
class OutgoingAttachment:
    """A file an agent attached to the reply: read from storage when mailing."""

    filename: str
    content_type: str
    storage_name: str


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
    cc: tuple[str, ...] = ()
    attachments: tuple[OutgoingAttachment, ...] = ()

    def headers(self) -> dict[str, str]:
        headers = {"Message-ID": self.message_id, "Date": self.date}
        if self.in_reply_to:
            headers["In-Reply-To"] = self.in_reply_to
        if self.references:
            headers["References"] = " ".join(self.references)
        return headers


def _require(user: User | None, permission: str) -> None:
    if user is None or not user.is_active or not user.has_perm(permission):
        raise PermissionDenied(f"Needs the {permission} permission.")


def _locked(draft_id: int) -> ReplyDraft:
    return (
        ReplyDraft.objects.select_for_update(of=("self",))
        .select_related("ticket", "in_reply_to_message")
        .get(pk=draft_id)
    )


def _audit(ticket: Ticket, actor: Any, action: str, **detail: Any) -> None:
    AuditEvent.objects.create(
        ticket=ticket,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        detail=detail,
    )


def outbound_message_record(
    *,
    ticket: Ticket,
    source: str,
    message_id: str,
    raw: bytes,
    sent_at: Any,
    **fields: Any,
) -> Message:
    """Our own sent mail stored once by its Message-ID (a retried task finds it):
    never triaged, so no sweeper picks it up. `fields`: from, to, subject, body..."""
    sent, _ = Message.objects.get_or_create(
        direction=Message.Direction.OUTBOUND,
        message_id=message_id,
        defaults={
            "ticket": ticket,
            "source": source,
            "sent_at": sent_at,
            "received_at": sent_at,
            "raw": raw,
            "raw_size": len(raw),
            "raw_sha256": hashlib.sha256(raw).hexdigest(),
            "triage_status": Message.TriageStatus.TRIAGED,
            **fields,
        },
    )
    return sent
