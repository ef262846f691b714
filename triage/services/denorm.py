"""What the ticket list reads, stored on the ticket and kept current on write.

The list used to compute these per row at read time (a correlated subquery for
the newest answer and the newest draft, a LIKE over every body for search), which
grew with the table. The services that change a message, an analysis or a draft
call the refresh functions here in their own transaction; each is one UPDATE
with a subquery, so the stored value is exactly what the old read computed.

`shown_sentiment`/`shown_intent` need nothing here: they are generated columns.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.conf import settings
from django.db import connections, router
from django.db.models import OuterRef, Subquery, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Left

# ISO 639-1 (what the language step detects) -> PostgreSQL text search
# configuration, for stemming in the mail's own language. Others use `simple`.
SEARCH_CONFIGS = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
# A tsvector holds at most 1 MB; bodies past this many characters are not indexed.
SEARCH_TEXT_MAX_CHARS = 200_000
BACKFILL_CHUNK = 5000
LATEST_ANSWER_CHARS = 300


def search_config(language: str) -> str:
    """The PostgreSQL text search configuration for an ISO language code."""
    return SEARCH_CONFIGS.get((language or "").split("-")[0].lower(), "simple")


def _search_config_sql(column: str) -> str:
    # Not yet detected (or not stemmable): the agents' language, the likeliest.
    default = search_config(settings.TRIAGE_AGENT_LANGUAGE)
    cases = " ".join(
        f"WHEN '{code}' THEN '{config}'" for code, config in SEARCH_CONFIGS.items()
    )
    return (
        f"(CASE split_part(lower({column}), '-', 1) {cases} "
        f"ELSE '{default}' END)::regconfig"
    )


# Every word twice: stemmed in the mail's language (a search for "refund" finds
# "refunds") and as written (`simple`: names, order numbers, other languages).
# The customer's name and address are indexed as written only.
_SEARCH_SQL = """
UPDATE triage_ticket AS t SET search_vector =
    to_tsvector('simple', t.customer_name || ' ' || t.customer_email)
    || to_tsvector({config}, t.subject || ' ' || b.body)
    || to_tsvector('simple', t.subject || ' ' || b.body)
FROM (
    SELECT t2.id, left(coalesce(string_agg(m.text_body, ' '
        ORDER BY m.received_at, m.id), ''), {max_chars}) AS body
    FROM triage_ticket t2
    LEFT JOIN triage_message m ON m.ticket_id = t2.id AND m.direction = 'inbound'
    WHERE {where}
    GROUP BY t2.id
) AS b
WHERE t.id = b.id
"""


def _search_sql(where: str) -> str:
    # Built from constants and settings; ids are bound parameters.
    return _SEARCH_SQL.format(
        config=_search_config_sql("t.language"),
        where=where,
        max_chars=SEARCH_TEXT_MAX_CHARS,
    )


def ticket_search_refresh(ticket_ids: Iterable[int], *, using: str = "default") -> None:
    """Recompute the tickets' full-text vectors (PostgreSQL; elsewhere a no-op)."""
    ids = sorted(set(ticket_ids))
    connection = connections[using]
    if not ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_search_sql("t2.id = ANY(%s)"), [ids])


def ticket_list_fields_refresh(
    ticket_ids: Iterable[int], *, apps: Apps = global_apps, using: str = "default"
) -> int:
    """Store each ticket's newest inbound answer and newest draft status."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return 0
    return _list_fields_update(apps, using, {"pk__in": ids})


def _list_fields_update(apps: Apps, using: str, where: dict) -> int:
    Ticket = apps.get_model("triage", "Ticket")
    Analysis = apps.get_model("triage", "Analysis")
    ReplyDraft = apps.get_model("triage", "ReplyDraft")
    answer = (
        Analysis.objects.using(using)
        .filter(
            message__ticket=OuterRef("pk"),
            message__direction="inbound",
            step="answer",
            error="",
        )
        .order_by("-message__received_at", "-message_id")
        .values(text=Left(KT("result__answer"), LATEST_ANSWER_CHARS))[:1]
    )
    draft = (
        ReplyDraft.objects.using(using)
        .filter(ticket=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        .values("status")[:1]
    )
    return (
        Ticket.objects.using(using)
        .filter(**where)
        .update(
            latest_answer=Coalesce(Subquery(answer), Value("")),
            draft_status=Coalesce(Subquery(draft), Value("")),
        )
    )


def tickets_backfill(*, apps: Apps = global_apps, using: str | None = None) -> None:
    """Fill the stored list fields of every ticket, in id ranges (migration 0006)."""
    Ticket = apps.get_model("triage", "Ticket")
    using = using or router.db_for_write(Ticket)
    bounds = Ticket.objects.using(using).order_by("pk").values_list("pk", flat=True)
    first, last = bounds.first(), bounds.last()
    if first is None:
        return
    postgres = connections[using].vendor == "postgresql"
    for low in range(first, last + 1, BACKFILL_CHUNK):
        high = low + BACKFILL_CHUNK - 1
        _list_fields_update(apps, using, {"pk__range": (low, high)})
        if postgres:
            with connections[using].cursor() as cursor:
                cursor.execute(_search_sql("t2.id BETWEEN %s AND %s"), [low, high])
