"""Reads for the dashboard: querysets and plain view data, no writes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from triage.models import Analysis, Message, Ticket


@dataclass(frozen=True)
class Segment:
    """A run of message text with the marks that cover it (escaped when rendered)."""

    text: str
    entity: str = ""
    answer: bool = False


@dataclass
class MessageReview:
    message: Message
    analyses: dict[str, Analysis]
    segments: list[Segment]
    entities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sentiment(self) -> dict[str, Any] | None:
        return self._result("sentiment")

    @property
    def answer(self) -> dict[str, Any] | None:
        return self._result("answer")

    @property
    def errors(self) -> dict[str, str]:
        return {step: a.error for step, a in self.analyses.items() if a.error}

    def _result(self, step: str) -> Any:
        analysis = self.analyses.get(step)
        return analysis.result if analysis and not analysis.error else None


def ticket_list() -> QuerySet[Ticket]:
    """Tickets annotated with the latest inbound answer for the list view."""
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
    return Ticket.objects.annotate(latest_answer=Subquery(latest_answer))


def ticket_review(ticket: Ticket) -> list[MessageReview]:
    messages = ticket.messages.prefetch_related("analyses", "attachments").order_by(
        "received_at", "pk"
    )
    reviews = []
    for message in messages:
        analyses = {a.step: a for a in message.analyses.all()}
        entities_row = analyses.get(Analysis.Step.ENTITIES)
        entities = (
            list(entities_row.result or [])
            if entities_row and not entities_row.error
            else []
        )
        answer_row = analyses.get(Analysis.Step.ANSWER)
        answer = answer_row.result if answer_row and not answer_row.error else None
        reviews.append(
            MessageReview(
                message=message,
                analyses=analyses,
                segments=highlight_segments(message.text_body, entities, answer),
                entities=entities,
            )
        )
    return reviews


def tiny_models_used(ticket: Ticket | None = None) -> bool:
    qs = Analysis.objects.filter(is_tiny=True)
    if ticket is not None:
        qs = qs.filter(message__ticket=ticket)
    return qs.exists()


def highlight_segments(
    text: str, entities: list[dict[str, Any]], answer: dict[str, Any] | None
) -> list[Segment]:
    """Split `text` at every span boundary; each piece knows what covers it.

    Spans come from model output stored as JSON, so anything outside the text or
    inverted is ignored rather than trusted.
    """
    n = len(text)
    spans: list[tuple[int, int, str]] = []
    for ent in entities:
        start, end = ent.get("start"), ent.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= n:
            spans.append((start, end, str(ent.get("label", ""))))
    answer_span = None
    if answer:
        start, end = answer.get("start"), answer.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= n:
            answer_span = (start, end)
    bounds = {0, n}
    for start, end, _ in spans:
        bounds.update((start, end))
    if answer_span:
        bounds.update(answer_span)
    ordered = sorted(bounds)
    segments = []
    for left, right in itertools.pairwise(ordered):
        label = next((lab for s, e, lab in spans if s <= left and right <= e), "")
        in_answer = bool(
            answer_span and answer_span[0] <= left and right <= answer_span[1]
        )
        segments.append(Segment(text=text[left:right], entity=label, answer=in_answer))
    return segments
