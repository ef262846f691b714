"""Benchmark: the triage pipeline one email at a time vs batched, same models.

    python bench/pipeline.py                       # 64 emails, tiny models, CPU
    python bench/pipeline.py --n 256 --batch-size 64
    python bench/pipeline.py --models hub --device cuda --dtype float16
    python bench/pipeline.py --models offline --n 32 --backends transformers,ct2

``--models`` is ``tiny``, ``hub``, ``offline`` or a JSON object step -> model (over
the hub defaults), as ``TRIAGE_MODELS``. ``--backends`` runs the same emails through
each generation engine in turn, each in a fresh process (so peak RSS and load time
are each backend's own), and prints them side by side: ``transformers`` (the
reference), ``ct2`` (CTranslate2: the offline SmolLM2 draft, and ``ct2:`` for the
tiny/hub generation models), ``openai`` (the draft and chat steps through the
OpenAI-compatible server named by ``TRIAGE_OPENAI_*``; when none is named,
llama-cpp-python's server with the packaged SmolLM2 GGUF, started for the run).

The sample emails (``samples/*.eml``) are repeated to ``--n``. Models are loaded and
warmed up before either path is timed; then (a) the naive loop calls
``run_pipeline`` once per email (one call per step per email) and (b) the batched
path calls it once for all emails. Prints emails/s for each, their ratio, the
per-step time of both, peak RSS and the model-load time, and writes the figures to
``bench/results/pipeline.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Plain dataclasses: importing them loads no model, torch or transformers.
from bench.backends import (  # noqa: E402
    BACKENDS,
    BackendError,
    compare,
    draft_engines,
    shares,
    with_backend,
)
from bench.chart import chart_title, write_chart  # noqa: E402
from bench.host import describe, host  # noqa: E402
from bench.llama_server import URL_ENV, ServerError, smollm2_server_env  # noqa: E402
from workers.contract import email_input  # noqa: E402
from workers.nlp.pipeline import PipelineConfig  # noqa: E402

# Benchmarks run on development settings (the settings default to production).
os.environ.setdefault("TRIAGE_ENV", "development")

SAMPLES = REPO / "samples"
RESULTS = REPO / "bench" / "results" / "pipeline.json"
# The samples are English, German and French; agents and analysis read English.
SAMPLE_PAIRS = [("de", "en"), ("fr", "en"), ("en", "de"), ("en", "fr")]
TINY_DIR = Path(os.environ.get("TRIAGE_TINY_DIR", REPO / "var" / "models" / "tiny"))


def read_samples(folder: Path) -> list[dict[str, str]]:
    """Each ``.eml`` as an EmailInput, read as ingest stores it (triage.mime: the
    plain body, else the HTML one as text; a malformed mail keeps what parses)."""
    from triage.mime import parse_email  # plain Python: no Django, no torch

    emails = []
    for path in sorted(folder.glob("*.eml")):
        parsed = parse_email(path.read_bytes())
        text, name, address = parsed.text_body, parsed.from_name, parsed.from_address
        emails.append(email_input(text, parsed.subject, name, address))
    return emails


class BenchArgumentError(ValueError):
    pass


def resolve_models(spec: str) -> tuple[dict[str, str], str]:
    """``tiny`` | ``hub`` | ``offline`` | a JSON object -> (step -> model, name)."""
    # The Django side's profiles (plain Python, no Django import).
    from triage.model_profiles import ProfileError
    from triage.model_profiles import resolve_models as profile_models

    spec = spec.strip()
    if spec == "tiny":
        from workers.nlp_testing.tiny import build_tiny_models

        return build_tiny_models(TINY_DIR), "tiny"
    try:
        models = profile_models(spec, tiny_dir=TINY_DIR)
    except ProfileError as exc:
        raise BenchArgumentError(
            f"--models must be tiny, hub, offline or a JSON object, got {spec!r}"
        ) from exc
    except json.JSONDecodeError as exc:
        raise BenchArgumentError(f"--models: not valid JSON ({exc}): {spec!r}") from exc
    return models, spec if spec in {"hub", "offline"} else "json"


def step_times(outcomes: list[list[dict[str, Any]]]) -> dict[str, float]:
    """Seconds per step summed over calls (each outcome holds its share)."""
    totals: dict[str, float] = defaultdict(float)
    for call in outcomes:
        for outcome in call:
            for step, record in outcome.items():
                totals[step] += record["duration_ms"] / 1000.0
    return dict(totals)


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    outcomes: list[list[dict[str, Any]]]


def timed(call: Callable[[], list[list[dict[str, Any]]]]) -> Run:
    started, cpu = time.perf_counter(), time.process_time()
    outcomes = call()
    return Run(time.perf_counter() - started, time.process_time() - cpu, outcomes)


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=64, help="emails (samples repeated)")
    parser.add_argument(
        "--models", default="tiny", help="tiny | hub | offline | JSON mapping"
    )
    parser.add_argument(
        "--backends",
        default="transformers",
        help="comma-separated engines to compare: transformers,ct2,openai",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=PipelineConfig.batch_size,
        help="mini-batch size (default: the worker's, 16)",
    )
    # The worker's own variables are the defaults: a bench run in a shell that
    # sets TRIAGE_DTYPE=float32 measured bfloat16 drafts while saying nothing.
    parser.add_argument(
        "--device",
        default=os.environ.get("TRIAGE_DEVICE") or "auto",
        help="auto | cpu | cuda[:N] (default: TRIAGE_DEVICE, else auto)",
    )
    parser.add_argument(
        "--dtype",
        default=os.environ.get("TRIAGE_DTYPE") or "auto",
        help="auto | float32 | float16 | bfloat16 (default: TRIAGE_DTYPE, else "
        "auto: the worker's choice, bfloat16 drafts on a CPU with AMX or an AMD "
        "one with AVX512-BF16; float32: every model in float32)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: 1 for tiny models, else all cores)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="alternate the paths N times, keep best"
    )
    parser.add_argument("--agent-language", default="en")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser()
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in BACKENDS]
    if not backends or unknown:
        parser.error(f"--backends: choose from {', '.join(BACKENDS)}")
    if "openai" in backends and not os.environ.get(URL_ENV):
        # No server named: the packaged SmolLM2 behind llama-cpp-python's server,
        # started once for the whole comparison (its children inherit the URL).
        try:
            with smollm2_server_env() as base:
                print(
                    f"openai backend: llama-cpp-python's server at {base}, "
                    f"SmolLM2 GGUF, one thread ({URL_ENV} names another server)"
                )
                return main(argv)
        except ServerError as exc:
            parser.error(f"--backends openai: {exc}, and {URL_ENV} is not set")
    if len(backends) > 1:
        return compare(
            Path(__file__).resolve(),
            args,
            backends,
            argv if argv is not None else sys.argv[1:],
        )

    # Read when the first model loads; set before anything is loaded.
    os.environ["TRIAGE_DEVICE"] = args.device
    os.environ["TRIAGE_DTYPE"] = args.dtype
    # Tiny models gain nothing from intra-op threads, and on a shared machine the
    # OpenMP barriers of two threads stall on every one of their tiny ops (the
    # naive path most): one thread measures the batching, not the contention.
    threads = args.threads or (1 if args.models.strip() == "tiny" else None)
    if threads:
        os.environ["TRIAGE_TORCH_THREADS"] = str(threads)
    load_before = os.getloadavg()[0]
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from workers.nlp import preload, run_pipeline

    samples = read_samples(SAMPLES)
    emails = [samples[i % len(samples)] for i in range(args.n)]
    try:
        models, profile = resolve_models(args.models)
        models = with_backend(models, backends[0])
    except (BenchArgumentError, BackendError) as exc:
        parser.error(str(exc))
    config_kwargs: dict[str, Any] = {
        "models": models,
        "agent_language": args.agent_language,
        "shop_name": "Example Shop",
        "shop_email": "support@example-shop.test",
    }
    config = PipelineConfig(**config_kwargs, batch_size=args.batch_size)

    # Loading, before any timing: every model the configuration names (for a
    # templated translation setting, the pairs of the samples' languages).
    started = time.perf_counter()
    load_by_step = preload(config, language_pairs=SAMPLE_PAIRS)
    load_s = time.perf_counter() - started
    first = run_pipeline(samples[:1], config)
    failed = {step for step, record in first[0].items() if record["error"]}
    if failed:
        print(f"warning: steps failing: {sorted(failed)}", file=sys.stderr)
    # Warm-up: every sample once, both ways, so lazy paths (per-pair translation
    # models, kernels for new shapes) are not charged to either timing.
    run_pipeline(samples, config)
    for item in samples:
        run_pipeline([item], config)

    # Wall time is the figure; process CPU time is recorded beside it because on a
    # shared machine other processes stretch wall time but not CPU time. With
    # --repeat, the two paths alternate and each keeps its best run (timeit's rule:
    # noise only ever adds time).
    naive_runs: list[Run] = []
    batched_runs: list[Run] = []
    for _ in range(args.repeat):
        naive_runs.append(
            timed(lambda: [run_pipeline([item], config) for item in emails])
        )
        batched_runs.append(timed(lambda: [run_pipeline(emails, config)]))
    naive = min(naive_runs, key=lambda run: run.wall_s)
    batched = min(batched_runs, key=lambda run: run.wall_s)
    naive_s, naive_cpu_s = naive.wall_s, naive.cpu_s
    batched_s, batched_cpu_s = batched.wall_s, batched.cpu_s

    import torch

    n = args.n
    step_naive = step_times(naive.outcomes)
    step_batched = step_times(batched.outcomes)
    drafts = [o["draft"] for call in batched.outcomes for o in call if "draft" in o]
    written = [d for d in drafts if d["error"] is None and d["result"]]
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    figures = {
        "emails": args.n,
        "models": profile,
        "backend": backends[0],
        "model_specs": models,
        "batch_size": config.batch_size,
        "device": os.environ["TRIAGE_DEVICE"],
        "dtype": os.environ["TRIAGE_DTYPE"],
        # What the draft engine actually ran: "auto" is bfloat16 on some CPUs
        # (workers/nlp/device.py), and the engine's revision says so (a draft's own
        # record names the template where the generated sentence was not kept).
        "draft_revision": draft_engines(),
        "torch_threads": torch.get_num_threads(),
        "cpus": len(os.sched_getaffinity(0)),
        # Other processes on the machine skew CPU timings; recorded, not hidden.
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "naive_s": round(naive_s, 3),
        "batched_s": round(batched_s, 3),
        "naive_emails_per_s": round(args.n / naive_s, 2),
        "batched_emails_per_s": round(args.n / batched_s, 2),
        "ratio": round(naive_s / batched_s, 2),
        "naive_cpu_s": round(naive_cpu_s, 3),
        "batched_cpu_s": round(batched_cpu_s, 3),
        "cpu_ratio": round(naive_cpu_s / batched_cpu_s, 2),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "load_s": round(load_s, 2),
        "load_s_by_step": {k: round(v, 2) for k, v in load_by_step.items()},
        "repeat": args.repeat,
        "step_s_naive": {k: round(v, 3) for k, v in step_naive.items()},
        "step_s_batched": {k: round(v, 3) for k, v in step_batched.items()},
        # Per step: emails/s of that step alone and its share of the pipeline's time.
        "step_emails_per_s_naive": {
            k: round(n / v, 2) if v else None for k, v in step_naive.items()
        },
        "step_emails_per_s_batched": {
            k: round(n / v, 2) if v else None for k, v in step_batched.items()
        },
        "step_share_naive": shares(step_naive),
        "step_share_batched": shares(step_batched),
        # Drafts whose generated sentence passed the grounding checks (the rest
        # are the template alone), batched run: the quality figure compared across
        # engines on the same model and prompts.
        "drafts": len(drafts),
        "drafts_failed": sum(1 for d in drafts if d["error"] is not None),
        # Mail in a language no installed model reads (German, Polish without
        # their translation pairs): no draft, and the record says why.
        "drafts_not_analysed": sum(1 for d in drafts if d.get("not_analysed")),
        "drafts_generated_share": (
            round(
                sum(1 for d in written if d["result"].get("backend") != "template")
                / len(written),
                3,
            )
            if written
            else None
        ),
        "failed_steps": sorted(failed),
        "python": platform.python_version(),
        "host": host(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
    print_table(figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    chart = write_chart(figures, args.out, chart_title(figures))
    print(f"\nwritten to {args.out} and {chart}")
    return 0


def print_table(f: dict[str, Any]) -> None:
    print(
        f"\n{f['emails']} emails, {f['models']} models ({f['backend']}), "
        f"batch size {f['batch_size']}, "
        f"device {f['device']} ({f['dtype']}), {f['torch_threads']} torch threads, "
        f"draft {', '.join(f.get('draft_revision') or ['-'])}\n"
        f"on {describe(f['host'])}\n"
    )
    print(f"{'path':<10} {'wall s':>9} {'emails/s':>10} {'CPU s':>9}")
    print(
        f"{'naive':<10} {f['naive_s']:>9.2f} {f['naive_emails_per_s']:>10.2f} "
        f"{f['naive_cpu_s']:>9.2f}"
    )
    print(
        f"{'batched':<10} {f['batched_s']:>9.2f} {f['batched_emails_per_s']:>10.2f} "
        f"{f['batched_cpu_s']:>9.2f}"
    )
    print(
        f"\nratio {f['ratio']:.2f}x (CPU time {f['cpu_ratio']:.2f}x)   "
        f"peak RSS {f['peak_rss_mb']:.0f} MB   "
        f"model load {f['load_s']:.2f} s   load average "
        f"{f['load_average_before']} -> {f['load_average_after']}\n"
    )
    print(
        f"{'step':<12} {'naive s':>9} {'batched s':>10} {'ratio':>7} "
        f"{'emails/s':>9} {'share':>6}"
    )
    for step, naive in f["step_s_naive"].items():
        batched = f["step_s_batched"].get(step, 0.0)
        ratio = naive / batched if batched else float("inf")
        rate = f["step_emails_per_s_batched"].get(step)
        share = f["step_share_batched"].get(step, 0.0)
        print(
            f"{step:<12} {naive:>9.3f} {batched:>10.3f} {ratio:>7.1f} "
            f"{rate!s:>9} {share:>6.0%}"
        )
    if f.get("drafts"):
        print(
            f"\ndrafts: {f['drafts']}, failed {f['drafts_failed']}, not analysed "
            f"{f.get('drafts_not_analysed', 0)}, generated "
            f"sentence kept in {f['drafts_generated_share']}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
