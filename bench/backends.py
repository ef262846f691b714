"""``bench/pipeline.py --backends a,b``: one run per engine, side by side.

Each backend runs in a fresh process (its own peak RSS and load time) over the same
emails and models; the figures go into one JSON and one table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.chart import chart_title, write_chart
from bench.host import describe, host

BACKENDS = ("transformers", "ct2", "openai")
# Steps whose model an engine other than transformers can serve.
GENERATION_STEPS = ("translation", "summary", "draft", "chat")


class BackendError(ValueError):
    pass


def draft_engines() -> list[str]:
    """Revisions of the draft engines this process loaded (dtype or quantization
    included)."""
    from workers.nlp.cache import loaded
    from workers.nlp.offline.draft import DraftStep
    from workers.nlp.offline.smollm2 import SmolLM2, SmolLM2CT2

    engines = []
    for value in loaded().values():
        if isinstance(value, SmolLM2 | SmolLM2CT2):
            engines.append(f"{type(value).__name__}@{value.revision}")
        # A server is not a loaded model: the draft step says which it asks.
        elif isinstance(value, DraftStep) and value.backend == "openai":
            engines.append(f"OpenAIChat@{value.revision}")
    return sorted(engines)


def with_backend(models: dict[str, str], backend: str) -> dict[str, str]:
    """The same profile with its generation steps on ``backend``'s engine."""
    if backend not in BACKENDS:
        raise BackendError(
            f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}"
        )
    out = dict(models)
    if backend == "transformers":
        return out
    for step in GENERATION_STEPS:
        spec = out.get(step, "")
        if not spec:
            continue
        if spec.startswith("offline:smollm2"):
            out[step] = "offline:smollm2-ct2" if backend == "ct2" else "offline:openai"
        elif backend == "openai" and step == "chat":
            out[step] = "openai:"
        elif (
            backend == "ct2"
            and not spec.startswith(("offline:", "ct2:", "openai:"))
            and Path(spec.split("{")[0]).anchor
        ):
            # A local transformers directory (tiny models, a mirror): converted
            # once next to it. Hub ids would need downloading, which hosts here
            # cannot do.
            out[step] = f"ct2:{spec}"
    return out


def compare(
    script: Path, args: argparse.Namespace, backends: list[str], argv: list[str]
) -> int:
    """Each backend in a fresh process (its own peak RSS and load time), then the
    figures side by side in one JSON and one table."""
    base: list[str] = []
    skip = False
    for i, token in enumerate(argv):
        if skip:
            skip = False
            continue
        if token in {"--backends", "--out"}:
            skip = i + 1 < len(argv)
            continue
        if token.startswith(("--backends=", "--out=")):
            continue
        base.append(token)
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        for backend in backends:
            out = Path(tmp) / f"{backend}.json"
            command = [
                sys.executable,
                str(script),
                *base,
                "--backends",
                backend,
                "--out",
                str(out),
            ]
            print(f"\n=== backend {backend} ===", flush=True)
            done = subprocess.run(command, check=False)  # noqa: S603 - our own script
            if done.returncode != 0 or not out.is_file():
                runs[backend] = {"error": f"exit status {done.returncode}"}
                continue
            runs[backend] = json.loads(out.read_text(encoding="utf-8"))
    reference = runs.get(backends[0], {})
    comparison: dict[str, Any] = {}
    for backend in backends[1:]:
        run = runs[backend]
        if "error" in run or "error" in reference:
            continue
        comparison[f"{backend}_vs_{backends[0]}"] = {
            "batched_emails_per_s": round(
                run["batched_emails_per_s"] / reference["batched_emails_per_s"], 2
            ),
            "naive_emails_per_s": round(
                run["naive_emails_per_s"] / reference["naive_emails_per_s"], 2
            ),
            "draft_step_batched": _ratio(
                reference["step_s_batched"].get("draft"),
                run["step_s_batched"].get("draft"),
            ),
            "drafts_generated_share_points": (
                round(
                    100
                    * (
                        run["drafts_generated_share"]
                        - reference["drafts_generated_share"]
                    ),
                    1,
                )
                if run.get("drafts_generated_share") is not None
                and reference.get("drafts_generated_share") is not None
                else None
            ),
        }
    figures = {
        "backends": backends,
        "runs": runs,
        "comparison": comparison,
        "host": host(),
    }
    print_comparison(figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    chart = write_chart(figures, args.out, chart_title(figures))
    print(f"\nwritten to {args.out} and {chart}")
    return 0 if all("error" not in r for r in runs.values()) else 1


def _ratio(slow: float | None, fast: float | None) -> float | None:
    return round(slow / fast, 2) if slow and fast else None


def print_comparison(figures: dict[str, Any]) -> None:
    runs = figures["runs"]
    names = [b for b in figures["backends"] if "error" not in runs[b]]
    print(f"\n=== side by side === ({describe(figures['host'])})")
    print(f"{'':<28}" + "".join(f"{b:>14}" for b in names))
    rows = [
        ("naive emails/s", "naive_emails_per_s"),
        ("batched emails/s", "batched_emails_per_s"),
        ("batched / naive", "ratio"),
        ("batched CPU / naive CPU", "cpu_ratio"),
        ("peak RSS MB", "peak_rss_mb"),
        ("model load s", "load_s"),
        ("drafts generated share", "drafts_generated_share"),
        ("load average before", "load_average_before"),
    ]
    for label, key in rows:
        print(f"{label:<28}" + "".join(f"{runs[b].get(key)!s:>14}" for b in names))
    steps = list(dict.fromkeys(s for b in names for s in runs[b]["step_s_batched"]))
    print("\nper step, batched: emails/s (share of time)")
    for step in steps:
        cells = []
        for b in names:
            rate = runs[b]["step_emails_per_s_batched"].get(step)
            share = runs[b]["step_share_batched"].get(step, 0.0)
            cells.append(f"{rate!s:>7} ({share:4.0%})")
        print(f"{step:<28}" + "".join(f"{c:>14}" for c in cells))
    print()
    for b in names:
        print(f"{b} draft engine: {', '.join(runs[b].get('draft_revision') or ['-'])}")
    for name, ratios in figures["comparison"].items():
        print(f"\n{name}: " + ", ".join(f"{k} {v}" for k, v in ratios.items()))
    for b in figures["backends"]:
        if "error" in runs[b]:
            print(f"\n{b}: failed ({runs[b]['error']})")


def shares(times: dict[str, float]) -> dict[str, float]:
    total = sum(times.values())
    return {k: round(v / total, 3) if total else 0.0 for k, v in times.items()}
