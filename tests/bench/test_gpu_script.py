"""``bench/gpu.sh --dry-run``: the GPU host's one command, on the CPU at toy sizes,
so a change that breaks it shows here and not on the day a GPU is lent."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

REPO = Path(__file__).resolve().parents[2]
NS = {"svg": "http://www.w3.org/2000/svg"}


def test_the_dry_run_writes_every_run_its_table_and_chart(tiny_models, tmp_path):
    # tiny_models: built where the script's tiny profile reads them.
    env = {**os.environ, "OUT": str(tmp_path), "DRY_N": "4"}
    done = subprocess.run(
        ["bash", str(REPO / "bench" / "gpu.sh"), "--dry-run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "failed" not in done.stderr, done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) == {"tiny-float32-b1", "tiny-float32-b4"}
    rates = {}
    for name, data in summary.items():
        assert set(data["runs"]) == {"transformers", "ct2"}, name
        for backend, run in data["runs"].items():
            assert run["batch_size"] == int(name.rsplit("b", 1)[1])
            assert run["device"] == "cpu" and run["emails"] == 4
            rates[f"{name} {backend}"] = run["batched_emails_per_s"]
    table = (tmp_path / "table.md").read_text(encoding="utf-8")
    assert table.count("\n") == 2 + len(rates)
    # The chart: one bar per run and engine, as long as its batched emails/s.
    root = ET.fromstring((tmp_path / "chart.svg").read_text(encoding="utf-8"))
    widths = {}
    for rect in root.iterfind(".//svg:rect", NS):
        tip = rect.find("svg:title", NS)
        if tip is not None:
            widths[tip.text.split(": ", 1)[0]] = float(rect.get("width"))
    assert set(widths) == set(rates)
    fastest = max(rates, key=rates.get)
    for label, rate in rates.items():
        expected = widths[fastest] * rate / rates[fastest]
        assert abs(widths[label] - expected) <= 0.1, label
