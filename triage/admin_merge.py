"""The ticket page's merge form and per-message split button (issue 15).

Thin views, wrapped by `admin.site.admin_view` in triage.urls (staff login,
CSRF): they parse the form, call `ticket_merge` / `message_split`, and say what
happened. The services check the permission (Agents: change_ticket).
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from triage.models import Message, Ticket
from triage.services.ticket_merge import message_split, ticket_merge

TICKET_NUMBER_RE = re.compile(r"^\s*#?\s*(\d{1,18})\s*$")


def _ticket_url(ticket_id: int, anchor: str = "") -> str:
    url = reverse("admin:triage_ticket_change", args=[ticket_id])
    return f"{url}#{anchor}" if anchor else url


def merged_redirect(request: HttpRequest, ticket: Ticket) -> HttpResponseRedirect:
    """A merged ticket's page: the ticket that now holds its thread."""
    assert ticket.merged_into_id is not None
    messages.info(
        request,
        f"Ticket #{ticket.pk} was merged into #{ticket.merged_into_id}; "
        "its messages and history are here.",
    )
    return HttpResponseRedirect(_ticket_url(ticket.merged_into_id))


@require_POST
def ticket_merge_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    if not Ticket.objects.filter(pk=ticket_id).exists():
        raise Http404
    match = TICKET_NUMBER_RE.match(request.POST.get("target", ""))
    if match is None:
        messages.error(request, "Type the number of the ticket to merge into.")
        return HttpResponseRedirect(_ticket_url(ticket_id, "merge"))
    try:
        target = ticket_merge(ticket_id, int(match.group(1)), request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(_ticket_url(ticket_id, "merge"))
    messages.success(
        request,
        f"Ticket #{ticket_id} merged into #{target.pk}: every message, draft, "
        "note and event is here now.",
    )
    return HttpResponseRedirect(_ticket_url(target.pk))


@require_POST
def message_split_view(request: HttpRequest, message_id: int) -> HttpResponse:
    ticket_id = (
        Message.objects.filter(pk=message_id)
        .values_list("ticket_id", flat=True)
        .first()
    )
    if ticket_id is None:
        raise Http404
    try:
        new = message_split(message_id, request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(_ticket_url(ticket_id, f"message-{message_id}"))
    messages.success(
        request,
        f"Message split from ticket #{ticket_id} into the new ticket #{new.pk}.",
    )
    return HttpResponseRedirect(_ticket_url(new.pk))
