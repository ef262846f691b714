"""The pipeline bench as a picture: where the seconds go, one bar per path.

(``gpu.sh`` draws its summary with the same code: batched emails/s per run.)

``pipeline.py`` writes ``bench/results/pipeline.svg`` beside its JSON: for each
backend a bar for one email at a time and one for the batched run, each stacked
from the seconds of every step, with emails/s at its end. The layout is the team
overview's (``triage.charts.stacked_rows``); this module only draws it as a
standalone SVG file (colours inline, no stylesheet, no script), so a browser or
an image viewer opens it as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from bench.host import describe
from triage.charts import stacked_rows

SVG_NS = "http://www.w3.org/2000/svg"
# Okabe and Ito's palette (told apart with the common colour-vision deficiencies),
# then two more for pipelines with over eight steps.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#999999",
    "#882255",
    "#44AA99",
)
WIDTH, LABEL_W, VALUE_W = 760, 150, 170
LEGEND_ROW = 18
FONT = "font-family:sans-serif;font-size:12px"
# Room above the bars for the title and the machine.
HEADING = 42


def bars(figures: dict[str, Any]) -> list[tuple[str, dict[str, float], float]]:
    """(label, seconds per step, emails/s) per bar, from one run's figures or a
    side-by-side comparison's (``runs`` by backend; failed runs are left out)."""
    runs = figures.get("runs")
    if runs is None:
        runs = {figures.get("backend", "transformers"): figures}
    out = []
    for backend, run in runs.items():
        if "error" in run:
            continue
        for path in ("naive", "batched"):
            out.append(
                (
                    f"{backend} {path}",
                    run[f"step_s_{path}"],
                    run[f"{path}_emails_per_s"],
                )
            )
    return out


def pipeline_svg(figures: dict[str, Any], title: str) -> str:
    rows = bars(figures)
    steps = list(dict.fromkeys(step for _, times, _ in rows for step in times))
    return draw(
        title,
        [label for label, _, _ in rows],
        steps,
        [[times.get(step, 0.0) for step in steps] for _, times, _ in rows],
        unit="s",
        ends=[
            f"{sum(times.values()):.1f} s, {rate} emails/s" for _, times, rate in rows
        ],
        # The numbers in words, for a screen reader and for whoever greps the file.
        desc="; ".join(
            f"{label}: {rate} emails/s, "
            + ", ".join(f"{step} {times[step]:g} s" for step in steps if step in times)
            for label, times, rate in rows
        ),
    )


def gpu_summary_svg(summary: dict[str, Any], title: str) -> str:
    """``bench/gpu.sh``'s runs (name -> a side-by-side comparison): one bar per
    run and engine, batched emails/s, with the gain over one at a time."""
    labels, values, ends = [], [], []
    for name, data in summary.items():
        for backend, run in (data.get("runs") or {}).items():
            if "error" in run:
                continue
            labels.append(f"{name} {backend}")
            values.append([run["batched_emails_per_s"]])
            ends.append(f"{run['batched_emails_per_s']} emails/s ({run['ratio']}x)")
    return draw(
        title,
        labels,
        ["batched emails/s"],
        values,
        unit="",
        ends=ends,
        desc="; ".join(
            f"{label}: {end}" for label, end in zip(labels, ends, strict=True)
        ),
    )


def draw(
    title: str,
    labels: list[str],
    series: list[str],
    values: list[list[float]],
    *,
    unit: str,
    ends: list[str],
    desc: str,
) -> str:
    """Horizontal bars, one per label, stacked from its series (a legend when
    there are several); ``ends`` is the text after each bar."""
    # Room for the longest label (about 7 px a character at 12 px), the bars'
    # own width unchanged.
    label_w = max(LABEL_W, 7 * max(map(len, labels), default=0) + 12)
    layout = stacked_rows(
        labels,
        series,
        values,
        unit,
        label_w=label_w,
        value_w=VALUE_W,
        width=WIDTH - LABEL_W + label_w,
    )
    width = layout["width"]
    per_line = max(1, (width - 16) // 110)
    legend = series if len(series) > 1 else []
    legend_top = HEADING + layout["height"] + 8
    height = legend_top + LEGEND_ROW * (-(-len(legend) // per_line)) + 8
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {width} {height}",
            "width": str(width),
            "height": str(height),
            "role": "img",
            "aria-labelledby": "title desc",
        },
    )
    ET.SubElement(svg, "title", {"id": "title"}).text = title
    ET.SubElement(svg, "desc", {"id": "desc"}).text = desc
    ET.SubElement(svg, "rect", {"width": "100%", "height": "100%", "fill": "#ffffff"})
    for i, line in enumerate(title.split(", on ", 1)):
        heading = ET.SubElement(
            svg,
            "text",
            {
                "x": "8",
                "y": str(18 + 16 * i),
                "style": FONT + (";font-weight:600" if i == 0 else ""),
            },
        )
        heading.text = line if i == 0 else f"on {line}"
    plot = ET.SubElement(svg, "g", {"transform": f"translate(0 {HEADING})"})
    colour = {f"s{j}": PALETTE[j % len(PALETTE)] for j in range(len(series))}
    colour["single"] = PALETTE[0]
    for r in layout["rects"]:
        rect = ET.SubElement(
            plot,
            "rect",
            {
                "x": f"{r.x:.1f}",
                "y": f"{r.y:.1f}",
                "width": f"{r.w:.1f}",
                "height": f"{r.h:.1f}",
                "fill": colour[r.css],
            },
        )
        ET.SubElement(rect, "title").text = r.title
    for row, end in zip(layout["rows"], ends, strict=True):
        y = f"{row['y']:.1f}"
        label = ET.SubElement(
            plot,
            "text",
            {
                "x": str(layout["label_x"]),
                "y": y,
                "text-anchor": "end",
                "dominant-baseline": "middle",
                "style": FONT,
            },
        )
        label.text = row["label"]
        value = ET.SubElement(
            plot,
            "text",
            {
                "x": f"{row['end']:.1f}",
                "y": y,
                "dominant-baseline": "middle",
                "style": FONT + ";font-weight:600",
            },
        )
        value.text = end
    for j, name in enumerate(legend):
        x = 8 + (j % per_line) * 110
        y = legend_top + (j // per_line) * LEGEND_ROW
        ET.SubElement(
            svg,
            "rect",
            {
                "x": str(x),
                "y": str(y),
                "width": "12",
                "height": "12",
                "fill": PALETTE[j % len(PALETTE)],
            },
        )
        text = ET.SubElement(
            svg, "text", {"x": str(x + 16), "y": str(y + 10), "style": FONT}
        )
        text.text = name
    return ET.tostring(svg, encoding="unicode") + "\n"


def chart_title(figures: dict[str, Any]) -> str:
    runs = [r for r in figures.get("runs", {"": figures}).values() if "error" not in r]
    if not runs:
        return "pipeline bench: every backend failed"
    run = runs[0]
    return (
        f"Seconds per step, {run['emails']} emails, {run['models']} models, "
        f"batch size {run['batch_size']}, {run['device']} ({run['dtype']}), "
        f"on {describe(figures['host'])}"
    )


def write_chart(figures: dict[str, Any], out: Path, title: str) -> Path:
    """The chart of ``figures`` beside their JSON ``out`` (same name, ``.svg``)."""
    path = out.with_suffix(".svg")
    path.write_text(pipeline_svg(figures, title), encoding="utf-8")
    return path
