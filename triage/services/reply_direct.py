"""Issue 15 item 9: the approval policy, agents' own replies sent directly, and
drafts superseded by a newer inbound message.

The send itself is the existing exactly-once path (reply_enqueue_send ->
reply_send); this module only decides who needs to approve.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from triage.models import Message, ReplyDraft
from triage.services.denorm import ticket_list_fields_refresh
from triage.services.reply_approval import reply_create, reply_version
from triage.services.reply_attachments import Upload
from triage.services.reply_common import PERM_ADD, ReplyRefused, User, _audit, _require
from triage.services.reply_composition import reply_compose
from triage.services.reply_sending import reply_enqueue_send

# Open drafts a newer inbound message makes stale. Approved/sending ones are in
# flight (the exactly-once path owns them); sent ones are history.
SUPERSEDABLE = (
    ReplyDraft.Status.DRAFTED,
    ReplyDraft.Status.REJECTED,
    ReplyDraft.Status.FAILED,
)


def reply_policy_allows_direct_send() -> bool:
    """Whether an agent's own reply may go out without an approver."""
    return settings.TRIAGE_REPLY_APPROVAL == "model_drafts"


def reply_send_own(
    *,
    ticket_id: int,
    user: User,
    text: str,
    text_customer_language: str = "",
    cc: str = "",
    attachments: Sequence[Upload] = (),
) -> ReplyDraft:
    """An agent's own reply, sent at once where the policy allows.

    Only text the agent wrote now, never a model draft: those always need an
    approver. The author counts as the approver (recorded as such).
    """
    _require(user, PERM_ADD)
    if not reply_policy_allows_direct_send():
        raise ReplyRefused(
            "The approval policy says every reply needs an approver: save it as a "
            "draft instead."
        )
    with transaction.atomic():
        draft = reply_create(
            ticket_id=ticket_id,
            user=user,
            text=text,
            text_customer_language=text_customer_language,
            cc=cc,
            attachments=attachments,
        )
        draft = ReplyDraft.objects.select_for_update().get(pk=draft.pk)
        reply_compose(draft)  # refuse unsafe headers here, where the agent sees why
        draft.status = ReplyDraft.Status.APPROVED
        draft.approved_by = user
        draft.approved_at = timezone.now()
        draft.save()
        ticket_list_fields_refresh([draft.ticket_id])
        _audit(
            draft.ticket,
            user,
            "reply_sent_directly",
            draft=draft.pk,
            version=reply_version(draft),
            policy=settings.TRIAGE_REPLY_APPROVAL,
            cc=draft.cc,
            attachments=len(attachments),
        )
        draft_pk = draft.pk
        transaction.on_commit(lambda: reply_enqueue_send(draft_pk))
    return draft


def drafts_supersede(*, message: Message) -> int:
    """Mark the ticket's open drafts written before `message` as superseded.

    Called by ingest in the same transaction that stores a customer's newer
    message, so an approver never sees two drafts answering different states
    of the conversation.
    """
    stale = list(
        ReplyDraft.objects.select_for_update()
        .filter(ticket_id=message.ticket_id, status__in=SUPERSEDABLE)
        .exclude(in_reply_to_message=message)
        .values_list("pk", flat=True)
    )
    if not stale:
        return 0
    ReplyDraft.objects.filter(pk__in=stale).update(
        status=ReplyDraft.Status.SUPERSEDED, updated_at=timezone.now()
    )
    ticket_list_fields_refresh([message.ticket_id])
    _audit(
        message.ticket,
        None,
        "drafts_superseded",
        drafts=stale,
        message=message.pk,
    )
    return len(stale)
