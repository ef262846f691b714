"""What the bench tests share: running a bench script of this checkout as a user
would, and reading a bench chart's bars back from its SVG."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

REPO = Path(__file__).resolve().parents[2]
NS = {"svg": "http://www.w3.org/2000/svg"}


def run_script(
    command: list[str], env: Mapping[str, str], *, timeout: int
) -> subprocess.CompletedProcess[str]:
    """``command`` from the repository root, with ``env`` over this process's."""
    return subprocess.run(
        command,
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def segments(svg_text: str) -> dict[str, dict[str, float]]:
    """Bar label -> series -> drawn width, read back from the rectangles'
    tooltips ("transformers naive: 1.5 draft s")."""
    root = ET.fromstring(svg_text)
    drawn: dict[str, dict[str, float]] = {}
    for rect in root.iterfind(".//svg:rect", NS):
        tip = rect.find("svg:title", NS)
        if tip is None:
            continue  # the background and the legend's swatches
        label, rest = tip.text.split(": ", 1)
        series = rest.split(" ")[1]
        drawn.setdefault(label, {})[series] = float(rect.get("width"))
    return drawn


def assert_proportional(
    drawn: dict[str, dict[str, float]], values: Mapping, *, abs_px: float
) -> None:
    """One scale (pixels per unit) for every segment of every bar, up to
    ``abs_px`` (widths are rounded to 0.1 px); the scale is read off the widest."""
    label, series = max(
        ((label, series) for label, widths in drawn.items() for series in widths),
        key=lambda key: drawn[key[0]][key[1]],
    )
    scale = drawn[label][series] / values[label][series]
    for label, widths in drawn.items():
        for series, width in widths.items():
            assert width == pytest.approx(scale * values[label][series], abs=abs_px), (
                label,
                series,
            )
