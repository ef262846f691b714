"""Canned replies (issue 15 item 2): render, validate, apply.

Rendering uses Jinja2's ImmutableSandboxedEnvironment over a context of plain
strings and numbers only (no model instances), so a macro author can neither
call methods on Django objects nor load Django template tags; unknown
variables are an error at save time (StrictUndefined), not a blank in a mail.
"""

from __future__ import annotations

from typing import Any

import jinja2
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from triage.models import AuditEvent, Macro, Ticket
from triage.services.reply_approval import reply_create
from triage.services.sla import sla_apply

PERM_MANAGE = "triage.change_macro"
PERM_APPLY = "triage.view_macro"
BODY_MAX_CHARS = 10_000


class _MacroEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, minus arithmetic that can allocate without bound
    ("x" * 10**9): a macro prints variables, it does not compute."""

    intercepted_binops = frozenset({"*", "**", "//", "%"})

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError(f"The {operator!r} operator is not allowed in macros.")


_ENV = _MacroEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
)
# Minimal: no range(), dict(), lipsum(), cycler() ... only the ticket's values.
_ENV.globals.clear()


def macro_context(ticket: Ticket) -> dict[str, Any]:
    """What a macro may say: plain values only."""
    name = (ticket.customer_name or "").strip()
    first = name.split()[0] if name else ""
    return {
        "customer": {
            "first_name": first or "customer",
            "name": name or ticket.customer_email,
            "email": ticket.customer_email,
        },
        "ticket": {
            "id": ticket.pk,
            "subject": ticket.subject,
            "intent": ticket.agent_intent or ticket.intent,
        },
        "answer": getattr(ticket, "latest_answer", "") or "",
    }


SAMPLE_CONTEXT = {
    "customer": {"first_name": "Ada", "name": "Ada L", "email": "ada@example.com"},
    "ticket": {"id": 1, "subject": "Parcel", "intent": "refund"},
    "answer": "a refund",
}


def macro_render(body: str, context: dict[str, Any]) -> str:
    try:
        return _ENV.from_string(body).render(context).strip()
    except (
        jinja2.TemplateError,
        SecurityError,
        OverflowError,
        TypeError,
        ValueError,
        ArithmeticError,
    ) as exc:
        raise ValidationError(f"The macro cannot be rendered: {exc}") from exc


def macro_validate(body: str) -> None:
    if len(body) > BODY_MAX_CHARS:
        raise ValidationError(f"A macro has at most {BODY_MAX_CHARS} characters.")
    macro_render(body, SAMPLE_CONTEXT)


def macro_save(*, macro: Macro, user: Any) -> Macro:
    """Create or change a macro: team leads only; the body must render."""
    if user is None or not user.is_active or not user.has_perm(PERM_MANAGE):
        raise PermissionDenied(f"Needs the {PERM_MANAGE} permission.")
    macro_validate(macro.body)
    macro.full_clean()
    macro.save()
    return macro


@transaction.atomic
def macro_apply(*, ticket_id: int, macro_id: int, user: Any):
    """Insert the rendered macro into the reply box (a new agent draft) and make
    its ticket changes; one audit event says what the macro did."""
    if user is None or not user.is_active or not user.has_perm(PERM_APPLY):
        raise PermissionDenied(f"Needs the {PERM_APPLY} permission.")
    ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
    macro = Macro.objects.get(pk=macro_id)
    text = macro_render(macro.body, macro_context(ticket))
    draft = reply_create(ticket_id=ticket.pk, user=user, text=text)
    changes: dict[str, Any] = {}
    if macro.set_status:
        ticket.status = macro.set_status
        changes["status"] = macro.set_status
    if macro.set_priority is not None:
        ticket.priority = macro.set_priority
        changes["priority"] = macro.set_priority
    if macro.set_assignee_id:
        ticket.assigned_to_id = macro.set_assignee_id
        changes["assigned_to"] = macro.set_assignee.get_username()
    if changes:
        # Issue 15: a new priority brings its SLA targets.
        sla = sla_apply(ticket) if "priority" in changes else []
        ticket.save(
            update_fields=[{"assigned_to": "assigned_to"}.get(k, k) for k in changes]
            + sla
            + ["updated_at"]
        )
    AuditEvent.objects.create(
        ticket=ticket,
        actor=user,
        action="macro_applied",
        detail={"macro": macro.name, "draft": draft.pk, "changes": changes},
    )
    return draft


def macros_suggested(ticket: Ticket, *, limit: int = 3) -> list[Macro]:
    """Macros whose intents list the ticket's intent (agent's correction first)."""
    intent = (ticket.agent_intent or ticket.intent or "").strip().lower()
    if not intent:
        return []
    candidates = Macro.objects.filter(intents__icontains=intent)
    return [m for m in candidates if intent in m.intent_list()][:limit]
