"""Internal notes: written by agents on a ticket, never sent to the customer.

An ``@username`` in a note notifies that colleague with an in-app
notification (shown on their ticket list) — only active staff users, and
never the author themself.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from triage.models import AuditEvent, Notification, Ticket, TicketNote

PERM_ADD_NOTE = "triage.add_ticketnote"
NOTE_MAX_CHARS = 10_000
# Django's default username characters (letters, digits and @.+-_); a trailing
# dot is sentence punctuation, not part of the name.
MENTION_RE = re.compile(r"(?<![\w@.+-])@([\w.+-]{1,150})")


def note_mentions(body: str) -> list[str]:
    """Usernames mentioned in a note, in order, without duplicates."""
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(body):
        seen.setdefault(match.group(1).rstrip("."), None)
    return list(seen)


@transaction.atomic
def note_add(*, ticket_id: int, user: Any, body: str) -> TicketNote:
    if user is None or not user.is_active or not user.has_perm(PERM_ADD_NOTE):
        raise PermissionDenied(f"Needs the {PERM_ADD_NOTE} permission.")
    body = body.strip()
    if not body:
        raise ValidationError("A note needs some text.")
    if "\x00" in body:
        # PostgreSQL text cannot hold NUL; refuse it as bad input, not a 500.
        raise ValidationError("A note cannot contain NUL characters.")
    if len(body) > NOTE_MAX_CHARS:
        raise ValidationError(f"A note has at most {NOTE_MAX_CHARS} characters.")
    ticket = Ticket.objects.get(pk=ticket_id)
    note = TicketNote.objects.create(ticket=ticket, author=user, body=body)
    names = note_mentions(body)
    mentioned = list(
        get_user_model()
        .objects.filter(username__in=names, is_active=True, is_staff=True)
        .exclude(pk=user.pk)
    )
    Notification.objects.bulk_create(
        Notification(
            recipient=colleague,
            ticket=ticket,
            note=note,
            text=f"{user.get_username()} mentioned you on ticket #{ticket.pk}",
        )
        for colleague in mentioned
    )
    AuditEvent.objects.create(
        ticket=ticket,
        actor=user,
        action="note_added",
        detail={
            "note": note.pk,
            "mentioned": sorted(u.get_username() for u in mentioned),
        },
    )
    return note


def notification_mark_read(*, notification_id: int, user: Any) -> None:
    """Only the recipient marks their notification read."""
    Notification.objects.filter(
        pk=notification_id, recipient=user, read_at__isnull=True
    ).update(read_at=timezone.now())
