"""The pipeline bench's picture: bars as long as the seconds they stand for,
drawn from the figures the bench wrote (a real run of it on the tiny models)."""

from __future__ import annotations

import json
import sys
from xml.etree import ElementTree as ET

import pytest

from bench.chart import bars, chart_title, pipeline_svg, write_chart
from tests.bench.charts import NS, REPO, assert_proportional, run_script, segments


def _run(steps: dict[str, float], rate: float) -> dict:
    return {
        "emails": 8,
        "models": "tiny",
        "batch_size": 16,
        "device": "cpu",
        "dtype": "float32",
        "step_s_naive": steps,
        "step_s_batched": {k: v / 4 for k, v in steps.items()},
        "naive_emails_per_s": rate,
        "batched_emails_per_s": rate * 4,
    }


def test_each_backend_gets_a_bar_per_path_and_a_failed_one_none():
    figures = {
        "runs": {
            "transformers": _run({"sentiment": 1.0, "draft": 6.0}, 1.2),
            "ct2": _run({"sentiment": 1.0, "draft": 2.0}, 2.5),
            "openai": {"error": "exit status 1"},
        },
        "host": {"cpu": "Test CPU", "cores": 2},
    }
    rows = bars(figures)
    assert [label for label, _, _ in rows] == [
        "transformers naive",
        "transformers batched",
        "ct2 naive",
        "ct2 batched",
    ]
    svg = pipeline_svg(figures, chart_title(figures))
    drawn = segments(svg)
    assert set(drawn) == {label for label, _, _ in rows}
    assert_proportional(drawn, {label: times for label, times, _ in rows}, abs_px=0.06)
    # The transformers draft, 6 s, is three times ct2's 2 s.
    assert drawn["transformers naive"]["draft"] == pytest.approx(
        3 * drawn["ct2 naive"]["draft"], rel=0.01
    )
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iterfind(".//svg:text", NS)]
    assert "7.0 s, 1.2 emails/s" in texts and "3.0 s, 2.5 emails/s" in texts
    assert {"sentiment", "draft"} <= set(texts)  # the legend
    assert "openai" not in svg
    assert "ct2 batched: 10.0 emails/s" in root.find("svg:desc", NS).text


def test_the_bench_writes_its_chart_beside_its_json(tiny_models, tmp_path):
    """``bench/pipeline.py`` itself, on the tiny models: the picture holds the
    seconds of every step the JSON holds, at one scale."""
    # tiny_models: built where the bench looks for them (TRIAGE_TINY_DIR).
    out = tmp_path / "pipeline.json"
    done = run_script(
        [
            sys.executable,
            str(REPO / "bench" / "pipeline.py"),
            "--models",
            "tiny",
            "--n",
            "4",
            "--device",
            "cpu",
            "--out",
            str(out),
        ],
        {"HF_HUB_OFFLINE": "1"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text(encoding="utf-8"))
    chart = out.with_suffix(".svg")
    assert f"and {chart}" in done.stdout
    drawn = segments(chart.read_text(encoding="utf-8"))
    seconds = {
        "transformers naive": figures["step_s_naive"],
        "transformers batched": figures["step_s_batched"],
    }
    assert set(drawn) == set(seconds)
    for label, widths in drawn.items():
        # Every step that took time is drawn (a 0 s step has no rectangle).
        assert set(widths) == {s for s, v in seconds[label].items() if v}
    assert_proportional(drawn, seconds, abs_px=0.06)
    assert write_chart(figures, out, "again") == chart
