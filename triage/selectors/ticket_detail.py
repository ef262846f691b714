"""Reads for the ticket page: the thread with highlights, drafts, timeline, models."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import nh3
from django.db.models import Count, QuerySet

from triage.models import Analysis, AuditEvent, Message, ReplyDraft, Ticket
from triage.selectors.common import (
    ON_ORIGINAL,
    ON_TRANSLATION,
    Language,
    computed_on_of,
    language_info,
    ok_result,
    step_order,
)

AUDIT_LABELS = {
    "ticket_created": "Ticket created",
    "message_received": "Message received",
    "message_triaged": "Triaged by the models",
    "ticket_updated": "Ticket updated",
    "ticket_assigned": "Assigned",
    "reply_created": "Reply written",
    "note_added": "Internal note added",
    "macro_applied": "Macro applied",
    "marked_spam": "Marked as spam",
    "unmarked_spam": "Not spam (undone)",
    "blocked_sender_closed": "Closed: sender is blocked",
    "reply_edited": "Draft edited",
    "reply_approved": "Reply approved",
    "reply_sent_directly": "Own reply sent without approval (policy)",
    "drafts_superseded": "Older drafts superseded by a newer message",
    "reply_rejected": "Draft rejected",
    "reply_send_error": "Send attempt failed",
    "reply_send_failed": "Sending gave up",
    "reply_send_refused": "Send refused",
    "reply_send_unknown": "Send outcome unknown",
    "reply_sent": "Reply sent",
    "reply_attachments_added": "Files attached to a reply",
    "ticket_merged": "Another ticket merged into this one",
    "ticket_merged_into": "Merged into another ticket",
    "message_split_out": "Message split into a new ticket",
    "ticket_split_from": "Split from another ticket",
}


@dataclass(frozen=True)
class Segment:
    """A run of message text with the marks that cover it (escaped when rendered)."""

    text: str
    entity: str = ""
    answer: bool = False
    # Where a span begins and ends, so the page names each highlight once even
    # when another span's boundary cuts it into several segments.
    entity_starts: bool = False
    entity_ends: bool = False
    answer_starts: bool = False
    answer_ends: bool = False


@dataclass
class MessageReview:
    message: Message
    analyses: dict[str, Analysis]
    segments: list[Segment]
    entities: list[dict[str, Any]] = field(default_factory=list)
    translation_segments: list[Segment] = field(default_factory=list)
    # Re-sanitised on the way out: the stored HTML was cleaned at ingest, but the
    # cleaner's rules may have been looser then.
    html: str = ""

    @property
    def sentiment(self) -> dict[str, Any] | None:
        return self._result("sentiment")

    @property
    def answer(self) -> dict[str, Any] | None:
        return self._result("answer")

    @property
    def summary(self) -> dict[str, Any] | None:
        result = self._result("summary")
        return result if isinstance(result, dict) else None

    @property
    def intent(self) -> dict[str, Any] | None:
        result = self._result("intent")
        if not result:
            return None
        scores = result.get("scores") or {}
        top = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:4]
        return {**result, "top_scores": top}

    @property
    def translation(self) -> dict[str, Any] | None:
        result = self._result("translation")
        return result if isinstance(result, dict) else None

    @property
    def language(self) -> Language | None:
        result = self._result("language")
        code = (result or {}).get("language")
        return language_info(code) if code else None

    @property
    def language_confidence(self) -> float | None:
        return (self._result("language") or {}).get("confidence")

    @property
    def entities_on(self) -> str:
        return computed_on_of(self.analyses.get(Analysis.Step.ENTITIES))

    @property
    def answer_on(self) -> str:
        return computed_on_of(self.analyses.get(Analysis.Step.ANSWER))

    @property
    def errors(self) -> dict[str, str]:
        return {step: a.error for step, a in self.analyses.items() if a.error}

    @property
    def models(self) -> list[Analysis]:
        return sorted(self.analyses.values(), key=lambda a: step_order(a.step))

    @property
    def is_inbound(self) -> bool:
        return self.message.direction == Message.Direction.INBOUND

    def _result(self, step: str) -> Any:
        analysis = self.analyses.get(step)
        return analysis.result if analysis and not analysis.error else None


@dataclass
class DraftView:
    draft: ReplyDraft
    version: str
    subject: str
    recipient: str
    can_edit: bool
    can_approve: bool
    can_reject: bool
    # The customer writes another language but there is no translated text: the
    # agents' text is what goes out.
    sends_agent_language: bool
    # Set when it differs from the agents' language: the box shows both texts.
    customer_language: Language | None
    # The customer-language text was machine-translated through this third
    # language (an apertium chain): the approver is told so.
    pivot: Language | None = None

    @property
    def is_open(self) -> bool:
        return self.draft.status not in (
            ReplyDraft.Status.SENT,
            ReplyDraft.Status.SUPERSEDED,
        )


@dataclass(frozen=True)
class TimelineEntry:
    event: AuditEvent
    label: str
    detail: str


def ticket_review(ticket: Ticket) -> list[MessageReview]:
    """Every message of the thread in order, with its analyses and highlights."""
    # Never the raw MIME (up to 10 MiB a mail): the page shows the parsed bodies.
    messages = (
        ticket.messages.defer("raw")
        .prefetch_related("analyses", "attachments")
        .order_by("received_at", "pk")
    )
    reviews = []
    for message in messages:
        analyses = {a.step: a for a in message.analyses.all()}
        entities = ok_result(analyses.get(Analysis.Step.ENTITIES)) or []
        if not isinstance(entities, list):
            entities = []
        answer = ok_result(analyses.get(Analysis.Step.ANSWER))
        if not isinstance(answer, dict):
            answer = None
        entities_on = computed_on_of(analyses.get(Analysis.Step.ENTITIES))
        answer_on = computed_on_of(analyses.get(Analysis.Step.ANSWER))
        translation = ok_result(analyses.get(Analysis.Step.TRANSLATION)) or {}
        translated = ""
        if isinstance(translation, dict) and not translation.get("skipped"):
            translated = str(translation.get("text") or "")
        reviews.append(
            MessageReview(
                message=message,
                analyses=analyses,
                segments=highlight_segments(
                    message.text_body,
                    entities if entities_on == ON_ORIGINAL else [],
                    answer if answer_on == ON_ORIGINAL else None,
                ),
                entities=entities,
                translation_segments=highlight_segments(
                    translated,
                    entities if entities_on == ON_TRANSLATION else [],
                    answer if answer_on == ON_TRANSLATION else None,
                )
                if translated
                else [],
                html=nh3.clean(message.html_body) if message.html_body else "",
            )
        )
    return reviews


def ticket_drafts(ticket: Ticket, user: Any) -> list[DraftView]:
    """The ticket's reply drafts, newest first, with what `user` may do to each."""
    from triage.services.replies import (  # pure helpers, no writes
        PERM_APPROVE,
        PERM_EDIT,
        reply_customer_language,
        reply_subject,
        reply_version,
    )

    may_edit = user.has_perm(PERM_EDIT)
    may_approve = user.has_perm(PERM_APPROVE)
    views = []
    drafts = (
        ticket.drafts.select_related(
            "author", "approved_by", "in_reply_to_message", "sent_message"
        )
        .defer("in_reply_to_message__raw", "sent_message__raw")
        # The files are part of the version an approver approves (reply_version).
        .prefetch_related("attachments")
        .order_by("-created_at", "-pk")
    )
    for draft in drafts:
        status = draft.status
        language = reply_customer_language(draft)
        views.append(
            DraftView(
                draft=draft,
                version=reply_version(draft),
                subject=reply_subject(ticket, draft.in_reply_to_message),
                recipient=ticket.customer_email,
                can_edit=may_edit
                and status in (ReplyDraft.Status.DRAFTED, ReplyDraft.Status.REJECTED),
                can_approve=may_approve
                and status in (ReplyDraft.Status.DRAFTED, ReplyDraft.Status.FAILED),
                can_reject=may_approve
                and status in (ReplyDraft.Status.DRAFTED, ReplyDraft.Status.FAILED),
                sends_agent_language=bool(
                    language and not draft.text_customer_language.strip()
                ),
                customer_language=language_info(language) if language else None,
                pivot=(
                    language_info(draft.customer_language_via)
                    if language and draft.customer_language_via
                    else None
                ),
            )
        )
    return views


def ticket_timeline(ticket: Ticket) -> list[TimelineEntry]:
    events = ticket.audit_events.select_related("actor").order_by("-created_at", "-pk")
    return [
        TimelineEntry(
            event=event,
            label=AUDIT_LABELS.get(event.action, event.action.replace("_", " ")),
            detail=_audit_detail(event),
        )
        for event in events
    ]


def ticket_models(ticket: Ticket) -> list[dict[str, Any]]:
    """Model ids that produced the ticket's analyses, one row per step and model."""
    rows = (
        Analysis.objects.filter(message__ticket=ticket)
        .exclude(model="")
        .values("step", "model", "model_revision", "is_tiny")
        .annotate(n=Count("pk"))
        .order_by("step", "model")
    )
    return sorted(rows, key=lambda r: step_order(r["step"]))


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
        if not isinstance(ent, dict):
            continue
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
        span = next((sp for sp in spans if sp[0] <= left and right <= sp[1]), None)
        in_answer = bool(
            answer_span and answer_span[0] <= left and right <= answer_span[1]
        )
        segments.append(
            Segment(
                text=text[left:right],
                entity=span[2] if span else "",
                answer=in_answer,
                entity_starts=bool(span and span[0] == left),
                entity_ends=bool(span and span[1] == right),
                answer_starts=in_answer and answer_span[0] == left,
                answer_ends=in_answer and answer_span[1] == right,
            )
        )
    return segments


def _audit_detail(event: AuditEvent) -> str:
    detail = event.detail or {}
    action = event.action
    if action == "reply_rejected":
        return f"“{detail.get('reason', '')}”"
    if action == "reply_sent":
        return f"to {detail.get('to', '')} as {detail.get('message_id', '')}"
    if action in ("reply_send_error", "reply_send_failed", "reply_send_refused"):
        return str(detail.get("error", ""))
    if action == "reply_send_unknown":
        return str(detail.get("error", ""))
    if action == "reply_edited":
        return "changed " + ", ".join(detail.get("fields", [])) if detail else ""
    if action == "message_triaged":
        failed = detail.get("failed_steps") or []
        return f"failed steps: {', '.join(failed)}" if failed else ""
    if action == "ticket_updated":
        return ", ".join(f"{k} → {v}" for k, v in detail.items())
    if action == "ticket_assigned":
        return f"to {detail.get('assigned_to') or 'nobody'}"
    return _audit_detail_i15(action, detail)


def _audit_detail_i15(action: str, detail: dict[str, Any]) -> str:
    if action == "reply_attachments_added":
        return ", ".join(str(f.get("name", "")) for f in detail.get("files", []))
    ticket_key = {
        "ticket_merged": ("from #", "source"),
        "ticket_merged_into": ("into #", "target"),
        "message_split_out": ("to #", "new_ticket"),
        "ticket_split_from": ("from #", "from_ticket"),
    }.get(action)
    if ticket_key and detail.get(ticket_key[1]):
        return f"{ticket_key[0]}{detail[ticket_key[1]]}"
    return ""


def outbox_messages(*, limit: int = 200) -> QuerySet[Message]:
    """Replies sent to customers, newest first, with who approved them."""
    return (
        Message.objects.filter(direction=Message.Direction.OUTBOUND)
        .select_related("ticket", "sent_draft__approved_by")
        .order_by("-sent_at", "-pk")[:limit]
    )
