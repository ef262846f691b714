"""The pipeline bench as a picture: where the seconds go, one bar per path.

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
    layout = stacked_rows(
        [label for label, _, _ in rows],
        steps,
        [[times.get(step, 0.0) for step in steps] for _, times, _ in rows],
        "s",
        label_w=LABEL_W,
        value_w=VALUE_W,
        width=WIDTH,
    )
    width = layout["width"]
    per_line = max(1, (width - 16) // 110)
    legend_top = HEADING + layout["height"] + 8
    height = legend_top + LEGEND_ROW * (-(-len(steps) // per_line)) + 8
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
    # The numbers in words, for a screen reader and for whoever greps the file.
    ET.SubElement(svg, "desc", {"id": "desc"}).text = "; ".join(
        f"{label}: {rate} emails/s, "
        + ", ".join(f"{step} {times[step]:g} s" for step in steps if step in times)
        for label, times, rate in rows
    )
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
    colour = {f"s{j}": PALETTE[j % len(PALETTE)] for j in range(len(steps))}
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
    for row, (_, _, rate) in zip(layout["rows"], rows, strict=True):
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
        value.text = f"{row['total']:.1f} s, {rate} emails/s"
    for j, step in enumerate(steps):
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
        name = ET.SubElement(
            svg,
            "text",
            {"x": str(x + 16), "y": str(y + 10), "style": FONT},
        )
        name.text = step
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
