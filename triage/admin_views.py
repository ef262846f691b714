"""The team leads' overview: a custom admin page of server-side SVG charts.

Numbers come from selectors; this module only lays them out as rectangles. No
chart library and no script: each chart is SVG in the template, and the table
next to it holds the same numbers.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from triage import selectors
from triage.charts import stacked_columns, stacked_rows
from triage.selectors.overview_cache import overview_numbers


def duration_label(hours: float | None) -> str:
    if hours is None:
        return ""
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


# Room for "What the customer wants", the longest built-in step label.
SPEED_LABEL_W = 170


def seconds_label(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:  # an eager demo or an idle worker: under a second
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return duration_label(seconds / 3600)


@staff_member_required
def overview(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("triage.view_ticket"):
        raise PermissionDenied
    per_day, intents, backlog, approval, sla, speed = overview_numbers()
    not_analysed = selectors.overview_not_analysed()
    day_labels = [row["day"].strftime("%d %b") for row in per_day["rows"]]
    approval_labels = [row["day"].strftime("%d %b") for row in approval["rows"]]
    context = {
        **admin.site.each_context(request),
        "title": "Team overview",
        "per_day": per_day,
        "per_day_chart": stacked_columns(
            day_labels,
            per_day["series"],
            [row["counts"] for row in per_day["rows"]],
            "tickets",
        ),
        "intents": intents,
        "intent_chart": stacked_rows(
            [row["intent"] for row in intents],
            ["tickets"],
            [[row["count"]] for row in intents],
            "",
        ),
        "backlog": backlog,
        "not_analysed": not_analysed,
        "not_analysed_total": sum(row["count"] for row in not_analysed),
        "backlog_chart": stacked_rows(
            [row["priority"].label for row in backlog["rows"]],
            backlog["buckets"],
            [row["counts"] for row in backlog["rows"]],
            "old",
        ),
        "approval": approval,
        "sla": sla,
        "approval_median": duration_label(approval["median"]),
        "speed": speed,
        "latency_median": seconds_label(speed["latency"]["median_s"]),
        "latency_p95": seconds_label(speed["latency"]["p95_s"]),
        "oldest_waiting": seconds_label(speed["latency"]["oldest_waiting_s"]),
        # Bars of the median; the table beside them has the 95th percentile too.
        "speed_chart": stacked_rows(
            [row["label"] for row in speed["rows"]],
            ["median ms per email"],
            [[round(row["median_ms"], 1)] for row in speed["rows"]],
            "",
            label_w=SPEED_LABEL_W,
        ),
        "approval_chart": stacked_columns(
            approval_labels,
            ["median hours"],
            [[round(row["median"], 1)] for row in approval["rows"]],
            "",
        ),
    }
    return TemplateResponse(request, "admin/triage/overview.html", context)


@staff_member_required
def outbox(request: HttpRequest) -> HttpResponse:
    """Replies sent to customers (the demo's local outbox shows up here too)."""
    if not request.user.has_perm("triage.view_ticket"):
        raise PermissionDenied

    folder = ""
    if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        folder = str(settings.EMAIL_FILE_PATH)
    context = {
        **admin.site.each_context(request),
        "title": "Outbox",
        "sent": selectors.outbox_messages(),
        "outbox_folder": folder,
    }
    return TemplateResponse(request, "admin/triage/outbox.html", context)
