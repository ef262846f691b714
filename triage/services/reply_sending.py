"""Sending an approved draft exactly once: publish, claim, deliver, record
(see triage.services.replies for the state machine)."""

from __future__ import annotations

import logging
import time
from email.utils import parseaddr

from django.conf import settings
from django.core import mail
from django.db import DatabaseError, close_old_connections, transaction
from django.utils import timezone

from triage import queue
from triage.models import Attachment, ReplyDraft, Ticket
from triage.services.denorm import ticket_list_fields_refresh
from triage.services.outgoing_webhooks import webhook_emit
from triage.services.reply_common import (
    OutgoingReply,
    ReplyRefused,
    SendOutcome,
    _audit,
    outbound_message_record,
)
from triage.services.reply_composition import _email, reply_compose, reply_message_id
from triage.services.sla import sla_first_response

logger = logging.getLogger(__name__)


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
        ticket_list_fields_refresh([draft.ticket_id])
        _audit(draft.ticket, None, "reply_send_failed", draft=draft.pk, error=error)


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
            ticket_list_fields_refresh([draft.ticket_id])
            _audit(
                draft.ticket, None, "reply_send_refused", draft=draft.pk, error=error
            )
            return SendOutcome.REFUSED
        draft.status = ReplyDraft.Status.SENDING
        draft.send_attempts += 1
        # `updated_at` (auto_now) doubles as the claim time for the lease.
        draft.save()
        ticket_list_fields_refresh([draft.ticket_id])
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
    ticket_list_fields_refresh([draft.ticket_id])
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
        ticket_list_fields_refresh([draft.ticket_id])
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
        sent = outbound_message_record(
            ticket=draft.ticket,
            source="smtp",
            message_id=outgoing.message_id,
            raw=raw,
            sent_at=now,
            in_reply_to=outgoing.in_reply_to,
            references=" ".join(outgoing.references),
            from_address=parseaddr(outgoing.from_email)[1],
            from_name=parseaddr(outgoing.from_email)[0],
            to=outgoing.to,
            cc=", ".join(outgoing.cc),
            subject=outgoing.subject,
            text_body=outgoing.body,
        )
        # The agent's files now belong to the mail they went out with.
        Attachment.objects.filter(draft=draft, message__isnull=True).update(
            message=sent
        )
        draft.status = ReplyDraft.Status.SENT
        draft.sent_at = now
        draft.sent_message = sent
        draft.last_error = ""
        draft.save()
        ticket_list_fields_refresh([draft.ticket_id])
        ticket = draft.ticket
        # Issue 15: the first reply sent meets (or misses) the SLA's target.
        sla_first_response(ticket.pk, now)
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
            attachments=[a.filename for a in outgoing.attachments],
        )
        webhook_emit(
            "reply.sent",
            {
                "ticket": ticket.pk,
                "draft": draft.pk,
                "message_id": outgoing.message_id,
                "to": outgoing.to,
            },
        )
