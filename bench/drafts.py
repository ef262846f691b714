"""Benchmark: the offline draft on transformers vs CTranslate2, same model and prompts.

    python bench/drafts.py                      # the 8 samples, both engines
    python bench/drafts.py --n 32 --threads 2

SmolLM2-135M-Instruct (the packaged GGUF, dequantised once) drafts the sample
emails one at a time (naive) and bucketed (batched) on each engine, each engine in
this process after the other. Prints emails/s (wall and CPU time: on a shared
machine other processes stretch wall time, not CPU time), the share of drafts
whose generated sentence passed the grounding checks (the rest fall back to the
template), and the model load time; writes ``bench/results/drafts.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.figures import write_figures  # noqa: E402
from bench.pipeline import SAMPLES, read_samples  # noqa: E402

RESULTS = REPO / "bench" / "results" / "drafts.json"
ENGINES = {"transformers": "smollm2", "ct2": "smollm2-ct2"}
SHOP = {
    "shop_name": "Example Shop",
    "shop_email": "support@example-shop.test",
    "signature": "Customer Service",
}


def run(
    step: Any, emails: list[dict[str, str]], batch: bool
) -> tuple[float, float, list]:
    started, cpu = time.perf_counter(), time.process_time()
    if batch:
        drafts = step.draft(emails, [{} for _ in emails], **SHOP)
    else:
        drafts = [step.draft([e], [{}], **SHOP)[0] for e in emails]
    return time.perf_counter() - started, time.process_time() - cpu, drafts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=8, help="emails (samples repeated)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads")
    parser.add_argument("--engines", default="transformers,ct2")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ["TRIAGE_TORCH_THREADS"] = str(args.threads)
    os.environ.setdefault("TRIAGE_DEVICE", "cpu")
    from workers.nlp.offline.draft import DraftStep

    samples = [s for s in read_samples(SAMPLES) if s["text"].strip()]
    emails = [samples[i % len(samples)] for i in range(args.n)]
    load_before = os.getloadavg()[0]
    figures: dict[str, Any] = {"emails": args.n, "threads": args.threads, "runs": {}}
    for engine in args.engines.split(","):
        started = time.perf_counter()
        step = DraftStep(ENGINES[engine])
        load_s = time.perf_counter() - started
        run(step, emails[:1], batch=False)  # warm-up
        naive_s, naive_cpu, naive = run(step, emails, batch=False)
        batched_s, batched_cpu, batched = run(step, emails, batch=True)
        kept = sum(1 for d in batched if d["backend"] != "template") / len(batched)
        kept_naive = sum(1 for d in naive if d["backend"] != "template") / len(naive)
        figures["runs"][engine] = {
            "load_s": round(load_s, 2),
            "naive_s": round(naive_s, 2),
            "naive_cpu_s": round(naive_cpu, 2),
            "batched_s": round(batched_s, 2),
            "batched_cpu_s": round(batched_cpu, 2),
            "naive_emails_per_s": round(args.n / naive_s, 3),
            "batched_emails_per_s": round(args.n / batched_s, 3),
            "naive_emails_per_cpu_s": round(args.n / naive_cpu, 3),
            "batched_emails_per_cpu_s": round(args.n / batched_cpu, 3),
            "generated_kept_share_batched": round(kept, 3),
            "generated_kept_share_naive": round(kept_naive, 3),
        }
        print(engine, json.dumps(figures["runs"][engine]), flush=True)
    runs = figures["runs"]
    if {"transformers", "ct2"} <= set(runs):
        t, c = runs["transformers"], runs["ct2"]
        figures["ct2_vs_transformers"] = {
            key: round(c[key] / t[key], 2)
            for key in (
                "naive_emails_per_s",
                "batched_emails_per_s",
                "naive_emails_per_cpu_s",
                "batched_emails_per_cpu_s",
            )
        } | {
            "kept_share_points_batched": round(
                100
                * (
                    c["generated_kept_share_batched"]
                    - t["generated_kept_share_batched"]
                ),
                1,
            )
        }
        print("ct2 vs transformers", json.dumps(figures["ct2_vs_transformers"]))
    figures["load_average_before"] = round(load_before, 2)
    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    figures["peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1
    )
    write_figures(args.out, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
