"""``bench/gpu.sh --dry-run``: the GPU host's one command, on the CPU at toy sizes,
so a change that breaks it shows here and not on the day a GPU is lent."""

from __future__ import annotations

import json

from tests.bench.charts import REPO, assert_proportional, run_script, segments


def test_the_dry_run_writes_every_run_its_table_and_chart(tiny_models, tmp_path):
    # tiny_models: built where the script's tiny profile reads them.
    done = run_script(
        ["bash", str(REPO / "bench" / "gpu.sh"), "--dry-run"],
        {"OUT": str(tmp_path), "DRY_N": "4"},
        timeout=900,
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
            rates[f"{name} {backend}"] = {"batched": run["batched_emails_per_s"]}
    table = (tmp_path / "table.md").read_text(encoding="utf-8")
    assert table.count("\n") == 2 + len(rates)
    # The chart: one bar per run and engine, as long as its batched emails/s.
    drawn = segments((tmp_path / "chart.svg").read_text(encoding="utf-8"))
    assert set(drawn) == set(rates)
    assert_proportional(drawn, rates, abs_px=0.1)
