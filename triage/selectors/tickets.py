"""Reads for the ticket list (the agents' queue)."""

from __future__ import annotations

from django.db.models import F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf

from triage.models import Analysis, Message, ReplyDraft, Ticket


def ticket_list() -> QuerySet[Ticket]:
    """Tickets for the list: model labels unless an agent corrected them.

    `latest_answer` is what the newest inbound message asks for and `draft_status`
    the state of the newest reply draft.
    """
    latest_answer = (
        Analysis.objects.filter(
            message__ticket=OuterRef("pk"),
            message__direction=Message.Direction.INBOUND,
            step=Analysis.Step.ANSWER,
            error="",
        )
        .order_by("-message__received_at")
        .values("result__answer")[:1]
    )
    draft_status = (
        ReplyDraft.objects.filter(ticket=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        .values("status")[:1]
    )
    return Ticket.objects.select_related("assigned_to").annotate(
        latest_answer=Subquery(latest_answer),
        draft_status=Subquery(draft_status),
        shown_sentiment=Coalesce(
            NullIf(F("agent_sentiment"), Value("")), F("sentiment_label")
        ),
        shown_intent=Coalesce(NullIf(F("agent_intent"), Value("")), F("intent")),
    )


def ticket_filter_values(column: str) -> list[str]:
    """Distinct non-empty values of a list column, for the filter sidebar."""
    qs = ticket_list().exclude(**{f"{column}__isnull": True}).exclude(**{column: ""})
    return sorted(qs.order_by().values_list(column, flat=True).distinct())
