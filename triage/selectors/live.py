"""What an open ticket page polls for (issue 15 item 10): has the triage or a
send finished since the page was drawn. Two aggregate queries on the indexed
ticket foreign keys; the page compares the numbers with those it was drawn with.
"""

from __future__ import annotations

from typing import TypedDict

from django.db.models import Count, Q

from triage.models import UNTRIAGED, Message, ReplyDraft

SEND_IN_FLIGHT = (ReplyDraft.Status.APPROVED, ReplyDraft.Status.SENDING)


class LiveState(TypedDict):
    inbound: int
    pending: int
    triaged: int
    sent: int
    sending: int


def ticket_live_state(ticket_id: int) -> LiveState:
    inbound = Q(direction=Message.Direction.INBOUND)
    messages = Message.objects.filter(ticket_id=ticket_id).aggregate(
        inbound=Count("pk", filter=inbound),
        pending=Count("pk", filter=inbound & Q(triage_status__in=UNTRIAGED)),
        triaged=Count(
            "pk",
            filter=inbound
            & Q(
                triage_status__in=(
                    Message.TriageStatus.TRIAGED,
                    Message.TriageStatus.FAILED,
                )
            ),
        ),
    )
    drafts = ReplyDraft.objects.filter(ticket_id=ticket_id).aggregate(
        sent=Count("pk", filter=Q(status=ReplyDraft.Status.SENT)),
        sending=Count("pk", filter=Q(status__in=SEND_IN_FLIGHT)),
    )
    return LiveState(
        inbound=messages["inbound"],
        pending=messages["pending"],
        triaged=messages["triaged"],
        sent=drafts["sent"],
        sending=drafts["sending"],
    )
