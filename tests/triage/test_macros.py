"""Canned replies / macros (issue 15 item 2): sandboxed rendering, team-lead
permission, apply = agent draft + ticket changes + audit, suggestions by intent."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import TicketFactory, UserFactory
from triage.models import AuditEvent, Macro, ReplyDraft, Ticket
from triage.services import roles_sync
from triage.services.macros import (
    macro_apply,
    macro_render,
    macro_save,
    macros_suggested,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def roles():
    return roles_sync()


def test_variables_render_from_the_ticket(roles):
    lead = UserFactory(groups=[roles["Team leads"]])
    agent = UserFactory(username="agent", groups=[roles["Agents"]])
    ticket = TicketFactory(customer_name="Ada Lovelace", intent="refund")
    ticket.latest_answer = "a refund"
    Ticket.objects.filter(pk=ticket.pk).update(latest_answer="a refund")
    macro = macro_save(
        macro=Macro(
            name="Refund",
            body="Hi {{ customer.first_name }}, about #{{ ticket.id }}: "
            "you asked for {{ answer }}.",
            intents="refund, return",
            set_status=Ticket.Status.WAITING,
            set_priority=Ticket.Priority.HIGH,
            set_assignee=agent,
        ),
        user=lead,
    )
    assert macros_suggested(ticket) == [macro]
    draft = macro_apply(ticket_id=ticket.pk, macro_id=macro.pk, user=agent)
    assert draft.text == f"Hi Ada, about #{ticket.pk}: you asked for a refund."
    assert draft.created_by == ReplyDraft.Author.AGENT
    assert draft.status == ReplyDraft.Status.DRAFTED  # still needs approval/send
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING
    assert ticket.priority == Ticket.Priority.HIGH
    assert ticket.assigned_to == agent
    event = AuditEvent.objects.get(action="macro_applied")
    assert event.actor == agent
    assert event.detail["changes"]["assigned_to"] == "agent"


def test_only_team_leads_manage_macros(roles):
    agent = UserFactory(groups=[roles["Approvers"]])
    with pytest.raises(PermissionDenied):
        macro_save(macro=Macro(name="x", body="hi"), user=agent)
    assert not Macro.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "{{ ticket.__class__.__mro__ }}",
        "{{ ''.__class__.__subclasses__() }}",
        "{% load static %}{% static 'x' %}",
        "{{ settings.SECRET_KEY }}",
        "{{ customer.password }}",
        "{% for x in range(10**9) %}{% endfor %}",
        "{{ 'x' * 1000000000 }}",
        "{{ ticket.subject|format(1) }}{{ lipsum() }}",
    ],
)
def test_hostile_macro_bodies_are_refused(roles, body):
    lead = UserFactory(groups=[roles["Team leads"]])
    with pytest.raises(ValidationError):
        macro_save(macro=Macro(name="evil", body=body), user=lead)
    assert not Macro.objects.exists()


def test_rendering_has_no_access_to_objects():
    # Even a context with a model instance would not expose its internals:
    # the sandbox refuses underscore attributes.
    with pytest.raises(ValidationError):
        macro_render("{{ t._meta }}", {"t": object()})
