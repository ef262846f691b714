"""Reads for the dashboard: querysets and plain view data, no writes."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import nh3
from django.db.models import (
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, NullIf, TruncDate
from django.utils import timezone
from django.utils.translation import get_language_info

from triage.models import Analysis, AuditEvent, Message, ReplyDraft, Ticket

# Which text the offsets of an analysis refer to (Analysis.computed_on).
ON_ORIGINAL = "original"
ON_TRANSLATION = "translation"
# Language flags are a visual cue for a language, not a claim about a country.
LANGUAGE_FLAGS = {
    "ca": "🇦🇩",
    "cs": "🇨🇿",
    "da": "🇩🇰",
    "de": "🇩🇪",
    "el": "🇬🇷",
    "en": "🇬🇧",
    "es": "🇪🇸",
    "fi": "🇫🇮",
    "fr": "🇫🇷",
    "hu": "🇭🇺",
    "it": "🇮🇹",
    "ja": "🇯🇵",
    "ko": "🇰🇷",
    "nb": "🇳🇴",
    "nl": "🇳🇱",
    "no": "🇳🇴",
    "pl": "🇵🇱",
    "pt": "🇵🇹",
    "ro": "🇷🇴",
    "ru": "🇷🇺",
    "sv": "🇸🇪",
    "tr": "🇹🇷",
    "uk": "🇺🇦",
    "zh": "🇨🇳",
}
AUDIT_LABELS = {
    "ticket_created": "Ticket created",
    "message_received": "Message received",
    "message_triaged": "Triaged by the models",
    "ticket_updated": "Ticket updated",
    "ticket_assigned": "Assigned",
    "reply_created": "Reply written",
    "reply_edited": "Draft edited",
    "reply_approved": "Reply approved",
    "reply_rejected": "Draft rejected",
    "reply_send_error": "Send attempt failed",
    "reply_send_failed": "Sending gave up",
    "reply_send_refused": "Send refused",
    "reply_send_unknown": "Send outcome unknown",
    "reply_sent": "Reply sent",
}
OPEN_STATUSES = (Ticket.Status.NEW, Ticket.Status.NEEDS_REVIEW, Ticket.Status.WAITING)
# (label, lower bound in hours, upper bound in hours or None)
AGE_BUCKETS = (
    ("< 4 h", 0, 4),
    ("4-24 h", 4, 24),
    ("1-3 days", 24, 72),
    ("> 3 days", 72, None),
)


@dataclass(frozen=True)
class Segment:
    """A run of message text with the marks that cover it (escaped when rendered)."""

    text: str
    entity: str = ""
    answer: bool = False


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    flag: str


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
        return _computed_on(self.analyses.get(Analysis.Step.ENTITIES))

    @property
    def answer_on(self) -> str:
        return _computed_on(self.analyses.get(Analysis.Step.ANSWER))

    @property
    def errors(self) -> dict[str, str]:
        return {step: a.error for step, a in self.analyses.items() if a.error}

    @property
    def models(self) -> list[Analysis]:
        return sorted(self.analyses.values(), key=lambda a: _step_order(a.step))

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
        return self.draft.status != ReplyDraft.Status.SENT


@dataclass(frozen=True)
class TimelineEntry:
    event: AuditEvent
    label: str
    detail: str


# --- Ticket list ---


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


def language_info(code: str) -> Language:
    base = code.split("-")[0].lower()
    try:
        name = get_language_info(base)["name"]
    except KeyError:
        name = code
    return Language(code=code, name=name, flag=LANGUAGE_FLAGS.get(base, ""))


# --- Ticket detail ---


def ticket_review(ticket: Ticket) -> list[MessageReview]:
    """Every message of the thread in order, with its analyses and highlights."""
    messages = ticket.messages.prefetch_related("analyses", "attachments").order_by(
        "received_at", "pk"
    )
    reviews = []
    for message in messages:
        analyses = {a.step: a for a in message.analyses.all()}
        entities = _ok_result(analyses.get(Analysis.Step.ENTITIES)) or []
        if not isinstance(entities, list):
            entities = []
        answer = _ok_result(analyses.get(Analysis.Step.ANSWER))
        if not isinstance(answer, dict):
            answer = None
        entities_on = _computed_on(analyses.get(Analysis.Step.ENTITIES))
        answer_on = _computed_on(analyses.get(Analysis.Step.ANSWER))
        translation = _ok_result(analyses.get(Analysis.Step.TRANSLATION)) or {}
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
    drafts = ticket.drafts.select_related(
        "author", "approved_by", "in_reply_to_message", "sent_message"
    ).order_by("-created_at", "-pk")
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
    return sorted(rows, key=lambda r: _step_order(r["step"]))


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
        label = next((lab for s, e, lab in spans if s <= left and right <= e), "")
        in_answer = bool(
            answer_span and answer_span[0] <= left and right <= answer_span[1]
        )
        segments.append(Segment(text=text[left:right], entity=label, answer=in_answer))
    return segments


# --- Overview (team leads) ---


def overview_tickets_per_day(*, days: int = 14) -> dict[str, Any]:
    """Tickets created per day, split by the sentiment shown in the list."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    rows = (
        ticket_list()
        .filter(created_at__date__gte=first)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "shown_sentiment")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for row in rows:
        counts[row["day"]][_sentiment_key(row["shown_sentiment"])] += row["n"]
    series = sorted({key for day in counts.values() for key in day}, key=_sent_order)
    table = [
        {
            "day": first + timedelta(days=i),
            "counts": [counts[first + timedelta(days=i)][s] for s in series],
            "total": sum(counts[first + timedelta(days=i)].values()),
        }
        for i in range(days)
    ]
    return {"series": series, "rows": table}


def overview_intent_mix(*, days: int = 30) -> list[dict[str, Any]]:
    since = timezone.now() - timedelta(days=days)
    rows = (
        ticket_list()
        .filter(created_at__gte=since)
        .values("shown_intent")
        .annotate(n=Count("pk"))
        .order_by("-n", "shown_intent")
    )
    total = sum(row["n"] for row in rows) or 1
    return [
        {
            "intent": row["shown_intent"] or "(not classified)",
            "count": row["n"],
            "share": row["n"] / total,
        }
        for row in rows
    ]


def overview_not_analysed() -> list[dict[str, Any]]:
    """Open tickets no model here could read, per language (most first)."""
    rows = (
        Ticket.objects.filter(status__in=OPEN_STATUSES)
        .exclude(not_analysed="")
        .values("language")
        .annotate(n=Count("pk"))
        .order_by("-n", "language")
    )
    return [
        {"language": language_info(row["language"] or "und"), "count": row["n"]}
        for row in rows
    ]


def overview_open_by_priority_age() -> dict[str, Any]:
    """Open tickets (not closed) per priority, in age buckets."""
    now = timezone.now()
    aggregates = {}
    for i, (_, low, high) in enumerate(AGE_BUCKETS):
        q = Q(created_at__lte=now - timedelta(hours=low))
        if high is not None:
            q &= Q(created_at__gt=now - timedelta(hours=high))
        aggregates[f"b{i}"] = Count("pk", filter=q)
    found = {
        row["priority"]: row
        for row in Ticket.objects.filter(status__in=OPEN_STATUSES)
        .values("priority")
        .annotate(**aggregates)
        .order_by("priority")
    }
    rows = []
    for priority in Ticket.Priority:
        row = found.get(priority.value, {})
        counts = [row.get(f"b{i}", 0) for i in range(len(AGE_BUCKETS))]
        rows.append({"priority": priority, "counts": counts, "total": sum(counts)})
    return {"buckets": [label for label, _, _ in AGE_BUCKETS], "rows": rows}


def overview_time_to_approval(*, days: int = 30) -> dict[str, Any]:
    """Median hours from the customer's message to the approval of our reply."""
    since = timezone.now() - timedelta(days=days)
    drafts = (
        ReplyDraft.objects.filter(approved_at__gte=since)
        .annotate(
            arrived=Coalesce(
                F("in_reply_to_message__received_at"), F("ticket__created_at")
            )
        )
        .values_list("approved_at", "arrived")
    )
    per_day: dict[date, list[float]] = defaultdict(list)
    all_hours = []
    for approved_at, arrived in drafts:
        hours = max((approved_at - arrived).total_seconds(), 0) / 3600
        per_day[timezone.localdate(approved_at)].append(hours)
        all_hours.append(hours)
    rows = [
        {"day": day, "count": len(hours), "median": statistics.median(hours)}
        for day, hours in sorted(per_day.items())
    ]
    return {
        "rows": rows,
        "median": statistics.median(all_hours) if all_hours else None,
        "count": len(all_hours),
        "days": days,
    }


# --- Helpers ---

_STEP_ORDER = [s.value for s in Analysis.Step]


def _step_order(step: str) -> int:
    return _STEP_ORDER.index(step) if step in _STEP_ORDER else len(_STEP_ORDER)


def _ok_result(analysis: Analysis | None) -> Any:
    return analysis.result if analysis and not analysis.error else None


def _computed_on(analysis: Analysis | None) -> str:
    # Rows from before `computed_on` existed, or unknown values: the original.
    on = getattr(analysis, "computed_on", "") if analysis else ""
    return ON_TRANSLATION if on == ON_TRANSLATION else ON_ORIGINAL


def _sentiment_key(label: str | None) -> str:
    return (label or "unknown").upper()


def _sent_order(label: str) -> tuple[int, str]:
    order = {"NEGATIVE": 0, "NEUTRAL": 1, "POSITIVE": 2}
    return (order.get(label, 3), label)


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
    return ""
