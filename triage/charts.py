"""Chart layout: numbers to rectangles and ticks, for SVG drawn without a chart
library (the team overview's templates, the benchmarks' pictures).

Plain Python and no Django settings, so a script outside the web process can lay
out a chart too (bench/chart.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.utils.text import slugify

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
    labels: list[str],
    series: list[str],
    values: list[list[float]],
    unit: str,
    *,
    label_w: int = 110,
    value_w: int = 48,
    width: int = WIDTH,
) -> dict[str, Any]:
    """Horizontal bars, one per label, stacked from its series values;
    ``label_w`` and ``value_w`` are the room for the label before a bar and its
    total after it."""
    row_h, gap = 26, 10
    plot_w = width - label_w - value_w
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
        "width": width,
        "height": height,
        "rects": rects,
        "rows": rows,
        "label_x": label_w - 8,
        "legend": [(name, f"s{j}") for j, name in enumerate(series)]
        if len(series) > 1
        else [],
    }
