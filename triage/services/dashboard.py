"""Dashboard writes outside the reply gate: ticket fields, assignment, roles."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from triage.models import AuditEvent, Ticket
from triage.services.outgoing_webhooks import webhook_emit
from triage.services.sla import sla_apply

logger = logging.getLogger(__name__)

AGENTS = "Agents"
APPROVERS = "Approvers"
TEAM_LEADS = "Team leads"
_AGENT_PERMISSIONS = (
    "view_ticket",
    "change_ticket",
    "view_message",
    "view_attachment",
    "view_analysis",
    "view_auditevent",
    "view_replydraft",
    "add_replydraft",
    "change_replydraft",
    "view_ticketnote",
    "add_ticketnote",
    "view_macro",
)
# Group -> permission codenames of the triage app. Migration 0005_roles created
# these; `roles_sync` restores them (a flushed test database, a new permission).
ROLES: dict[str, tuple[str, ...]] = {
    AGENTS: _AGENT_PERMISSIONS,
    APPROVERS: (*_AGENT_PERMISSIONS, "approve_replydraft"),
    # Issue 15: team leads manage the macros (and approve).
    TEAM_LEADS: (
        *_AGENT_PERMISSIONS,
        "approve_replydraft",
        "add_macro",
        "change_macro",
        "delete_macro",
        # ... and the SLA policies.
        "view_slapolicy",
        "add_slapolicy",
        "change_slapolicy",
        "delete_slapolicy",
    ),
}
# Fields an agent edits on the ticket form; the labels are corrections of the
# models' guesses.
EDITABLE_FIELDS = (
    "status",
    "priority",
    "assigned_to",
    "due_at",
    "agent_sentiment",
    "agent_intent",
)
LABEL_FIELDS = {"agent_sentiment", "agent_intent"}


def roles_sync() -> dict[str, Group]:
    """Create the role groups and give each exactly its permissions. Idempotent."""
    groups = {}
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            content_type__app_label="triage", codename__in=codenames
        )
        missing = set(codenames) - {p.codename for p in permissions}
        if missing:
            raise LookupError(f"Permissions missing (run migrate): {sorted(missing)}")
        group.permissions.set(permissions)
        groups[name] = group
    return groups


def ticket_update(*, ticket: Ticket, user: Any, fields: Iterable[str]) -> Ticket:
    """Save the fields an agent changed on the ticket form, with an audit event.

    The admin form has already put the new values on `ticket`.
    """
    changed = [f for f in fields if f in EDITABLE_FIELDS]
    if not changed:
        return ticket
    update = list(changed)
    if "priority" in changed and "due_at" not in changed:
        update += sla_apply(ticket)  # issue 15; a typed due date wins
    if LABEL_FIELDS & set(changed):
        ticket.labels_corrected_by = user
        ticket.labels_corrected_at = timezone.now()
        update += ["labels_corrected_by", "labels_corrected_at"]
    with transaction.atomic():
        ticket.save(update_fields=[*update, "updated_at"])
        AuditEvent.objects.create(
            ticket=ticket,
            actor=user,
            action="ticket_updated",
            detail={name: _plain(getattr(ticket, name)) for name in changed},
        )
        webhook_emit(
            "ticket.updated",
            {
                "ticket": ticket.pk,
                "by": user.get_username() if user else "",
                "changes": {name: _plain(getattr(ticket, name)) for name in changed},
            },
        )
    return ticket


def ticket_assign(*, ticket_ids: Iterable[int], assignee: Any, actor: Any) -> int:
    """Assign tickets (the list's bulk action). Returns how many changed."""
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update()
            .filter(pk__in=list(ticket_ids))
            .exclude(assigned_to=assignee)
        )
        for ticket in tickets:
            ticket.assigned_to = assignee
            ticket.save(update_fields=["assigned_to", "updated_at"])
            AuditEvent.objects.create(
                ticket=ticket,
                actor=actor,
                action="ticket_assigned",
                detail={"assigned_to": assignee.get_username() if assignee else ""},
            )
            # Integrations see assignment like any other change of the ticket.
            webhook_emit(
                "ticket.updated",
                {
                    "ticket": ticket.pk,
                    "by": actor.get_username() if actor else "",
                    "changes": {"assigned_to": _plain(assignee) or ""},
                },
            )
    return len(tickets)


def _plain(value: Any) -> Any:
    """A JSON-safe rendering of a model field value for the audit trail."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "get_username"):
        return value.get_username()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def ticket_assign_to_me(*, ticket_id: int, user: Any) -> bool:
    """The ticket page's "Assign to me" (and its `a` shortcut). True if it changed.

    Checked here, not only in the view: assigning is changing the ticket.
    """
    if user is None or not user.is_active or not user.has_perm("triage.change_ticket"):
        raise PermissionDenied("Needs the triage.change_ticket permission.")
    if not Ticket.objects.filter(pk=ticket_id).exists():
        raise Ticket.DoesNotExist(ticket_id)
    return ticket_assign(ticket_ids=[ticket_id], assignee=user, actor=user) == 1
