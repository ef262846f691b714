"""Reads for the dashboard: querysets and plain view data, no writes.

One module per page (`tickets` the list, `ticket_detail` the ticket page,
`overview` the team leads' charts) and `common` for what they share; the names
are re-exported here so callers keep writing `selectors.ticket_list()`.
"""

from triage.selectors.common import (
    LANGUAGE_FLAGS,
    ON_ORIGINAL,
    ON_TRANSLATION,
    Language,
    language_info,
    tiny_models_used,
)
from triage.selectors.overview import (
    AGE_BUCKETS,
    OPEN_STATUSES,
    overview_intent_mix,
    overview_not_analysed,
    overview_open_by_priority_age,
    overview_tickets_per_day,
    overview_time_to_approval,
)
from triage.selectors.ticket_detail import (
    AUDIT_LABELS,
    DraftView,
    MessageReview,
    Segment,
    TimelineEntry,
    highlight_segments,
    outbox_messages,
    ticket_drafts,
    ticket_models,
    ticket_review,
    ticket_timeline,
)
from triage.selectors.tickets import ticket_filter_values, ticket_list, ticket_search

__all__ = [
    "AGE_BUCKETS",
    "AUDIT_LABELS",
    "LANGUAGE_FLAGS",
    "ON_ORIGINAL",
    "ON_TRANSLATION",
    "OPEN_STATUSES",
    "DraftView",
    "Language",
    "MessageReview",
    "Segment",
    "TimelineEntry",
    "highlight_segments",
    "language_info",
    "outbox_messages",
    "overview_intent_mix",
    "overview_not_analysed",
    "overview_open_by_priority_age",
    "overview_tickets_per_day",
    "overview_time_to_approval",
    "ticket_drafts",
    "ticket_filter_values",
    "ticket_list",
    "ticket_models",
    "ticket_review",
    "ticket_search",
    "ticket_timeline",
    "tiny_models_used",
]
