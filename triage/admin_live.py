"""The ticket page's live parts (issue 15 item 10): the JSON it polls and the
"Assign to me" button behind the `a` shortcut. Registered in `TicketAdmin.get_urls`
(inside `admin_view`: staff login required); thin, like the rest of the admin.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.urls import reverse
from django.views.decorators.cache import never_cache

from triage.models import Ticket
from triage.selectors.live import ticket_live_state
from triage.services.dashboard import ticket_assign_to_me
from triage.services.presence import presence_beat, presence_others

PERM_VIEW = "triage.view_ticket"


@never_cache
def ticket_live_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """GET: the state and who else is here. POST (the page's heartbeat, with
    `state` viewing/replying): the same, after recording this user's beat."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if not request.user.has_perm(PERM_VIEW):
        raise PermissionDenied
    if not Ticket.objects.filter(pk=ticket_id).exists():
        raise Http404
    if request.method == "POST":
        others = presence_beat(
            ticket_id=ticket_id,
            user=request.user,
            state=request.POST.get("state", ""),
        )
    else:
        others = presence_others(ticket_id=ticket_id, user=request.user)
    return JsonResponse(
        {
            **ticket_live_state(ticket_id),
            "presence": [{"name": o["name"], "state": o["state"]} for o in others],
        }
    )


def ticket_assign_me_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        changed = ticket_assign_to_me(ticket_id=ticket_id, user=request.user)
    except Ticket.DoesNotExist:
        raise Http404 from None
    messages.success(
        request,
        "Assigned to you." if changed else "The ticket was already assigned to you.",
    )
    url = reverse("admin:triage_ticket_change", args=[ticket_id])
    return HttpResponseRedirect(url)
