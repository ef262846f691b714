"""Reads for `train_heads --from-tickets`: agents' labels as plain (text, label)."""

from __future__ import annotations

from django.db.models import OuterRef, Q, Subquery

from triage.models import Message, Ticket


def ticket_label_examples() -> dict[str, list[tuple[str, str]]]:
    """``{"sentiment": [(text, label)], "intent": [...]}`` from labelled tickets.

    The text is the ticket's first inbound message: what the customer wrote before
    any reply, which is what the model saw when it guessed. Labels are as the
    agent set them; the training code normalises and rejects unknown ones.
    """
    first_inbound = Message.objects.filter(
        ticket=OuterRef("pk"), direction=Message.Direction.INBOUND
    ).order_by("received_at", "pk")
    tickets = (
        Ticket.objects.filter(~Q(agent_sentiment="") | ~Q(agent_intent=""))
        .annotate(first_text=Subquery(first_inbound.values("text_body")[:1]))
        .order_by("pk")
        .values_list("first_text", "agent_sentiment", "agent_intent")
    )
    examples: dict[str, list[tuple[str, str]]] = {"sentiment": [], "intent": []}
    for text, sentiment, intent in tickets.iterator():
        if not text or not text.strip():
            continue
        if sentiment:
            examples["sentiment"].append((text, sentiment))
        if intent:
            examples["intent"].append((text, intent))
    return examples
