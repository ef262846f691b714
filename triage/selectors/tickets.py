"""Reads for the ticket list (the agents' queue).

Every column the list shows is a column of the ticket (see `Ticket.latest_answer`
and the generated `shown_*`), so a page costs one indexed range scan whatever
the table's size; search uses the stored tsvector on PostgreSQL.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

from triage.models import Message, Ticket
from triage.services.denorm import search_config

# Filter choices are configuration, not `SELECT DISTINCT` over the table.
SENTIMENT_CHOICES = ("NEGATIVE", "NEUTRAL", "POSITIVE")
SEARCH_MAX_CHARS = 200
_TICKET_REF = re.compile(r"^#(\d{1,18})$")


def ticket_list() -> QuerySet[Ticket]:
    """Tickets for the list: model labels unless an agent corrected them.

    `latest_answer` is what the newest inbound message asks for and `draft_status`
    the state of the newest reply draft (stored columns). The full-text vector
    and the answer's long tail stay in the database.
    """
    return Ticket.objects.select_related("assigned_to").defer("search_vector")


def ticket_filter_values(column: str) -> list[str]:
    """The choices of a list filter, from configuration (never a table scan)."""
    if column == "shown_sentiment":
        return sorted(
            {*SENTIMENT_CHOICES, *getattr(settings, "TRIAGE_SENTIMENT_LABELS", ())}
        )
    if column == "shown_intent":
        return list(settings.TRIAGE_INTENT_LABELS)
    if column == "language":
        languages = [
            settings.TRIAGE_AGENT_LANGUAGE,
            settings.TRIAGE_ANALYSIS_LANGUAGE,
            *settings.TRIAGE_CUSTOMER_LANGUAGES,
        ]
        return sorted(set(languages))
    raise ValueError(f"No fixed choices for {column!r}")


def ticket_search(queryset: QuerySet[Ticket], term: str) -> QuerySet[Ticket]:
    """Tickets matching what an agent typed in the search box.

    Words: full-text search over subject, customer and inbound bodies on
    PostgreSQL (stemmed in the agents' language and as written; quotes and `-`
    work as in web search engines); substring matching on SQLite. Exact fields
    by equality or prefix, each on its own index: `#123` the ticket, an address
    (prefix of the customer's), a Message-ID (`<...>` or `id@host`).
    """
    # PostgreSQL text cannot hold NUL; nothing searchable contains one.
    term = term.replace("\x00", "").strip()[:SEARCH_MAX_CHARS]
    if not term:
        return queryset
    if match := _TICKET_REF.match(term):
        return queryset.filter(pk=int(match.group(1)))
    if " " not in term and "@" in term:
        # An address or a Message-ID: exact fields only, each on its index. The
        # Message-ID is resolved first: an OR with a subquery defeats BitmapOr
        # and PostgreSQL scans the table instead.
        bare = term.strip("<>")
        tickets = Message.objects.filter(
            message_id__in={term, bare, f"<{bare}>"}
        ).values_list("ticket_id", flat=True)
        return queryset.filter(
            Q(customer_email__istartswith=bare) | Q(pk__in=list(tickets))
        )
    if connection.vendor == "postgresql":
        words = SearchQuery(term, config="simple", search_type="websearch")
        for config in _search_configs():
            words |= SearchQuery(term, config=config, search_type="websearch")
        return queryset.filter(search_vector=words)
    return queryset.filter(_substring_match(term))


def _search_configs() -> list[str]:
    """Stemmers for the languages agents and customers write: the query does not
    say its language, so a word is looked up stemmed in each (one GIN scan)."""
    languages = [
        settings.TRIAGE_AGENT_LANGUAGE,
        settings.TRIAGE_ANALYSIS_LANGUAGE,
        *settings.TRIAGE_CUSTOMER_LANGUAGES,
    ]
    configs = {search_config(code) for code in languages} - {"simple"}
    return sorted(configs)


def _substring_match(term: str) -> Q:
    """Every word somewhere in subject, customer or a body (the SQLite fallback)."""
    match = Q()
    for bit in smart_split(term):
        if len(bit) > 1 and bit[0] in "\"'" and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        in_body = Exists(
            Message.objects.filter(
                ticket=OuterRef("pk"),
                direction=Message.Direction.INBOUND,
                text_body__icontains=bit,
            )
        )
        match &= (
            Q(subject__icontains=bit)
            | Q(customer_email__icontains=bit)
            | Q(customer_name__icontains=bit)
            | in_body
        )
    return match
