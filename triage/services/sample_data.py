"""`manage.py sample_data`: fill the demo with a few dozen varied tickets.

Everything goes through the services agents use (ingest, triage's
`analysis_save`, notes, replies, assignment, ticket updates, spam), so the
tickets, audit trails and list columns are as consistent as real ones. The
labels are hand-written fixtures (triage/services/sample_mails.py), stored with
the model name `sample-data`. Idempotent: mails dedupe on their Message-ID and
each later step checks whether it already happened.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from triage.models import Message, ReplyDraft, Ticket, TicketNote
from triage.services.dashboard import roles_sync, ticket_assign, ticket_update
from triage.services.ingest import email_ingest
from triage.services.notes import note_add
from triage.services.reply_approval import reply_approve, reply_create, reply_version
from triage.services.reply_sending import reply_send
from triage.services.sample_mails import (
    ASSIGNED,
    CLOSED,
    DRAFT,
    MAILS,
    NOTE,
    OVERDUE,
    SENT,
    SPAM,
    SPAM_AGAIN,
    WAITING,
    SampleMail,
)
from triage.services.sla import sla_apply
from triage.services.spam import ticket_mark_spam
from triage.services.triage import analysis_save

SOURCE = "sample"
MODEL = "sample-data"
DOMAIN = "sample.triage.test"
# The sample colleagues: an agent and an approver (no password: they exist to
# author notes, drafts and approvals; log in as the demo's admin).
AGENT = ("alice", "Alice", "Agents")
APPROVER = ("bruno", "Bruno", "Approvers")


@dataclass
class SampleSummary:
    mails_new: int = 0
    tickets: int = 0
    steps: list[str] = field(default_factory=list)


def message_id(key: str) -> str:
    return f"<{key}@{DOMAIN}>"


def sample_eml(mail: SampleMail, now: Any) -> bytes:
    msg = EmailMessage()
    msg["From"] = formataddr((mail.name, mail.email))
    msg["To"] = "support@example-shop.test"
    msg["Subject"] = mail.subject
    msg["Message-ID"] = message_id(mail.key)
    msg["Date"] = format_datetime(now - timedelta(days=mail.days_ago))
    if mail.follows:
        msg["In-Reply-To"] = msg["References"] = message_id(mail.follows)
    msg.set_content(mail.body)
    return msg.as_bytes()


def sample_outcomes(mail: SampleMail) -> dict[str, dict[str, Any]]:
    """The fixture labels of one mail, shaped like the workers' step outcomes."""

    def outcome(result: Any, on: str = "original") -> dict[str, Any]:
        return {"result": result, "model": MODEL, "on": on, "tiny": False}

    english = mail.language == "en"
    outcomes = {
        "language": outcome(
            {"language": mail.language, "confidence": 0.99, "detector": MODEL}
        ),
        "sentiment": outcome(
            {"label": mail.sentiment[0], "score": mail.sentiment[1]},
            "original" if english else "translation",
        ),
        "intent": outcome(
            {
                "label": mail.intent,
                "score": 0.9,
                "scores": {mail.intent: 0.9},
                "priority": mail.priority,
                "priority_reasons": [f"sample data: {mail.priority}"],
            },
            "original" if english else "translation",
        ),
    }
    first_sentence = re.split(r"(?<=[.!?])\s", mail.english or mail.body)[0]
    outcomes["summary"] = outcome(
        {"summary": first_sentence, "skipped": False, "reason": None},
        "original" if english else "translation",
    )
    if not english and mail.english:
        outcomes["translation"] = outcome(
            {
                "source_language": mail.language,
                "target_language": "en",
                "text": mail.english,
                "skipped": False,
                "reason": None,
                "segments": 1,
            }
        )
    return outcomes


def _users() -> dict[str, Any]:
    groups = roles_sync()
    users = {}
    for username, first_name, group in (AGENT, APPROVER):
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "email": f"{username}@example-shop.test",
                "is_staff": True,
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(groups[group])
        users[username] = user
    return users


def _ingest(mail: SampleMail, now: Any) -> tuple[Message, bool]:
    # One transaction: the triage task that ingest enqueues on commit then finds
    # the mail already triaged (its fixture labels) and runs no model on it.
    with transaction.atomic():
        result = email_ingest(sample_eml(mail, now), source=SOURCE)
        message = result.message
        if result.created:
            # The demo needs a past: received and opened when the mail says.
            when = now - timedelta(days=mail.days_ago)
            Message.objects.filter(pk=message.pk).update(received_at=when)
            ticket = Ticket.objects.get(pk=message.ticket_id)
            if ticket.created_at > when:
                # The SLA clock starts when the mail arrived, as it would have:
                # old mail nobody answered is breached, as on a real desk.
                ticket.created_at = when
                fields = sla_apply(ticket)
                ticket.save(update_fields=["created_at", *fields])
        if not message.analyses.filter(model=MODEL).exists():
            analysis_save(message_id=message.pk, results=sample_outcomes(mail))
            # Fixture labels, not a worker's analysis: no analysis time, so the
            # overview's arrival-to-analysis figures hold only real triages (a
            # mail of the demo's past "analysed" now read as days of waiting).
            Message.objects.filter(pk=message.pk).update(triaged_at=None)
    return message, result.created


def sample_data_load(
    progress: Callable[[str], None] = lambda line: None,
) -> SampleSummary:
    """Load the sample mailbox; a second run changes nothing."""
    summary = SampleSummary()
    now = timezone.now()
    users = _users()
    alice, bruno = users["alice"], users["bruno"]
    tickets: dict[str, Ticket] = {}
    for mail in MAILS:
        message, created = _ingest(mail, now)
        summary.mails_new += int(created)
        tickets[mail.key] = Ticket.objects.get(pk=message.ticket_id)
        progress(
            f"{'added' if created else 'kept'} #{message.ticket_id} {mail.subject}"
        )

    def step(name: str, done: bool) -> None:
        if done:
            summary.steps.append(name)
            progress(name)

    newly = ticket_assign(
        ticket_ids=[tickets[k].pk for k in ASSIGNED], assignee=alice, actor=alice
    )
    step(f"assigned {newly} ticket(s) to alice", newly > 0)
    for keys, status in (
        (CLOSED, Ticket.Status.CLOSED),
        (WAITING, Ticket.Status.WAITING),
    ):
        for key in keys:
            ticket = Ticket.objects.get(pk=tickets[key].pk)
            if ticket.status != status:
                ticket.status = status
                ticket_update(ticket=ticket, user=alice, fields=["status"])
                step(f"#{ticket.pk} {ticket.get_status_display().lower()}", True)
    step("overdue ticket (SLA breached)", _overdue(tickets[OVERDUE].pk, alice, now))
    step("internal note with a mention", _note(tickets[NOTE[0]].pk, alice))
    step("agent's draft awaiting approval", _draft(tickets[DRAFT[0]].pk, alice))
    step("approved reply sent", _sent(tickets[SENT[0]].pk, alice, bruno))
    step("spam marked, sender blocked", _spam(alice, now))
    summary.tickets = Ticket.objects.filter(messages__source=SOURCE).distinct().count()
    return summary


def _overdue(ticket_id: int, user: Any, now: Any) -> bool:
    ticket = Ticket.objects.get(pk=ticket_id)
    if ticket.due_at is not None and ticket.due_at < now:
        return False
    ticket.due_at = now - timedelta(hours=20)
    ticket_update(ticket=ticket, user=user, fields=["due_at"])
    return True


def _note(ticket_id: int, user: Any) -> bool:
    if TicketNote.objects.filter(ticket_id=ticket_id, body=NOTE[1]).exists():
        return False
    note_add(ticket_id=ticket_id, user=user, body=NOTE[1])
    return True


def _draft(ticket_id: int, user: Any) -> bool:
    if ReplyDraft.objects.filter(ticket_id=ticket_id, text=DRAFT[1]).exists():
        return False
    reply_create(ticket_id=ticket_id, user=user, text=DRAFT[1])
    return True


def _sent(ticket_id: int, agent: Any, approver: Any) -> bool:
    draft = ReplyDraft.objects.filter(ticket_id=ticket_id, text=SENT[1]).first()
    if draft is not None and draft.status == ReplyDraft.Status.SENT:
        return False
    if draft is None:
        draft = reply_create(ticket_id=ticket_id, user=agent, text=SENT[1])
    if draft.status == ReplyDraft.Status.DRAFTED:
        reply_approve(draft_id=draft.pk, user=approver, version=reply_version(draft))
    # With a broker the approval queued the send for a worker; sending here (the
    # same service, which claims the draft) makes the sample complete either way,
    # and the queued task then finds it sent.
    reply_send(draft.pk)
    return True


def _spam(user: Any, now: Any) -> bool:
    first, _ = _ingest(SPAM, now)
    changed = False
    if not Ticket.objects.get(pk=first.ticket_id).is_spam:
        ticket_mark_spam(ticket_id=first.ticket_id, user=user, block_sender=True)
        changed = True
    # Stored, and closed as spam on arrival: the sender is blocked.
    _, created = _ingest(SPAM_AGAIN, now)
    return changed or created
