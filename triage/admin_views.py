"""The team leads' overview: a custom admin page of server-side SVG charts.

Numbers come from selectors; this module only lays them out as rectangles. No
chart library and no script: each chart is SVG in the template, and the table
next to it holds the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.text import slugify

from triage import selectors
from triage.selectors.overview_cache import overview_numbers

WIDTH = 640
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 26


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    css: str
    title: str


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


def nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent  # pragma: no cover - the loop always returns


def _y_ticks(top: float, plot_h: float, fmt: str = "{:g}") -> list[Tick]:
    return [
        Tick(pos=TOP + plot_h - plot_h * f, label=fmt.format(top * f))
        for f in (0, 0.5, 1)
    ]


def stacked_columns(
    labels: list[str], series: list[str], values: list[list[float]], unit: str
) -> dict[str, Any]:
    """Vertical bars, one per label, each stacked from its series values."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_max(max((sum(v) for v in values), default=0))
    slot = plot_w / max(len(labels), 1)
    bar_w = slot * 0.7
    rects, x_ticks = [], []
    for i, (label, row) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * slot + (slot - bar_w) / 2
        y = TOP + plot_h
        for name, value in zip(series, row, strict=True):
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            rects.append(
                Rect(x, y, bar_w, h, slugify(name), f"{label}: {value:g} {name} {unit}")
            )
        # Every label when they fit, else every other one, counted from the last
        # (today) so the newest bar is always labelled.
        if len(labels) <= 8 or (len(labels) - 1 - i) % 2 == 0:
            x_ticks.append(Tick(pos=x + bar_w / 2, label=label))
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "rects": rects,
        "x_ticks": x_ticks,
        "y_ticks": _y_ticks(top, plot_h),
        "axis_y": TOP + plot_h,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "legend": [(name, slugify(name)) for name in series],
    }


def stacked_rows(
    labels: list[str], series: list[str], values: list[list[float]], unit: str
) -> dict[str, Any]:
    """Horizontal bars, one per label, stacked from its series values."""
    label_w, row_h, gap = 110, 26, 10
    plot_w = WIDTH - label_w - 48
    height = TOP + len(labels) * (row_h + gap) + 4
    top = nice_max(max((sum(v) for v in values), default=0))
    rects, rows = [], []
    for i, (label, row) in enumerate(zip(labels, values, strict=True)):
        y = TOP + i * (row_h + gap)
        x = float(label_w)
        for j, (name, value) in enumerate(zip(series, row, strict=True)):
            if not value:
                continue
            w = plot_w * value / top
            css = f"s{j}" if len(series) > 1 else "single"
            rects.append(Rect(x, y, w, row_h, css, f"{label}: {value:g} {name} {unit}"))
            x += w
        rows.append(
            {"label": label, "y": y + row_h / 2, "total": sum(row), "end": x + 6}
        )
    return {
        "width": WIDTH,
        "height": height,
        "rects": rects,
        "rows": rows,
        "label_x": label_w - 8,
        "legend": [(name, f"s{j}") for j, name in enumerate(series)]
        if len(series) > 1
        else [],
    }


def duration_label(hours: float | None) -> str:
    if hours is None:
        return ""
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


@staff_member_required
def overview(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("triage.view_ticket"):
        raise PermissionDenied
    per_day, intents, backlog, approval, sla = overview_numbers()
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
