"""Benchmark: how many offline drafts SmolLM2 writes, and how many fall back to the
template, on a fixed set of emails.

    python bench/draft_share.py                   # samples/ + 24 eval sentences
    python bench/draft_share.py --sentences 109   # the whole eval split

The offline profile (workers/nlp/offline, DESIGN §8) drafts with SmolLM2-135M and
keeps a generated sentence only when it passes the guards (nothing named that the
email does not name, no outcome decided, ...); otherwise the draft is the template
alone. A draft's `backend` says which wrote it. The fixed set: every email in
samples/ plus the first `--sentences` sentences of the labelled eval split
(data/labelled, never trained on) as one-sentence emails. The whole offline
pipeline runs on them (its answer, summary, entities and intent are the draft's
grounding). Prints the share of model-written drafts (over all emails, and over the
English ones: the others get the plain template by design), the backend per email,
and writes bench/results/draft_share.json. The heads are read from TRIAGE_HEADS_DIR (or
--heads-dir); when none are there they are trained into a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.host import describe, host  # noqa: E402
from bench.llama_server import URL_ENV, ServerError, smollm2_server_env  # noqa: E402
from bench.pipeline import read_samples  # noqa: E402 - after the path fix above

RESULTS = REPO / "bench" / "results" / "draft_share.json"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sentences", type=int, default=24, help="eval sentences added (0-109)"
    )
    parser.add_argument("--heads-dir", type=Path, default=None)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--engine",
        default="smollm2",
        choices=("smollm2", "smollm2-ct2", "openai"),
        help="the draft's engine: transformers (smollm2), CTranslate2, or the "
        "OpenAI-compatible server named by TRIAGE_OPENAI_* (when none is, "
        "llama-cpp-python's with the packaged SmolLM2, started for the run)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def fixed_set(sentences: int) -> list[tuple[str, dict[str, str]]]:
    """(name, EmailInput) in a fixed order: the samples, then eval sentences."""
    from workers.nlp.offline.train import load_labelled

    names = sorted(p.stem for p in (REPO / "samples").glob("*.eml"))
    emails = list(zip(names, read_samples(REPO / "samples"), strict=True))
    held_out = sorted(
        (row for row in load_labelled() if row["split"] == "eval"),
        key=lambda row: row["id"],
    )
    for row in held_out[:sentences]:
        emails.append(
            (
                f"eval:{row['id']}",
                {
                    "text": row["text"],
                    "subject": "Your order",
                    "customer_name": "Alex Morgan",
                    "customer_email": "alex.morgan@example.com",
                },
            )
        )
    return emails


def heads_available(heads_dir: Path) -> bool:
    from workers.nlp.offline.heads import head_path

    return all(head_path(heads_dir, task).exists() for task in ("sentiment", "intent"))


def model_sentence(text: str) -> str:
    """The model's sentence in a draft: the one after the template's thanks (see
    workers/nlp/offline/template.py's compose)."""
    body = text.split("\n\n")[1] if text.count("\n\n") >= 2 else ""
    _, _, rest = body.partition("Example Shop. ")
    return rest.split(" We have noted")[0].split(" We are checking")[0]


def main() -> int:
    args = parse_args()
    if args.engine == "openai" and not os.environ.get(URL_ENV):
        # No server named: the packaged SmolLM2 behind llama-cpp-python's server.
        try:
            with smollm2_server_env() as base:
                print(f"openai engine: llama-cpp-python's server at {base}, SmolLM2")
                return measure(args)
        except ServerError as exc:
            print(f"--engine openai: {exc}, and {URL_ENV} is not set", file=sys.stderr)
            return 2
    return measure(args)


def measure(args: argparse.Namespace) -> int:
    from triage.model_profiles import resolve_models
    from workers.nlp import PipelineConfig, run_pipeline
    from workers.nlp.offline.draft import GENERATED_BY
    from workers.nlp.offline.heads import default_heads_dir

    # "template" when no model sentence was kept, None when the step failed.
    model_backends = set(GENERATED_BY.values())

    heads_dir = args.heads_dir or default_heads_dir()
    if not heads_available(heads_dir):
        from workers.nlp.offline.train import train_heads

        heads_dir = Path(tempfile.mkdtemp(prefix="triage-heads-"))
        print(f"no heads in {args.heads_dir or default_heads_dir()}: training them")
        train_heads(heads_dir=heads_dir)
    models = resolve_models(
        "offline", tiny_dir=Path(tempfile.mkdtemp()), heads_dir=heads_dir
    )
    models["draft"] = f"offline:{args.engine}"
    config = PipelineConfig(
        models=models,
        shop_name="Example Shop",
        shop_email="support@example-shop.test",
        agent_signature="Customer Service",
        batch_size=args.batch_size,
    )
    emails = fixed_set(args.sentences)
    started = time.perf_counter()
    outcomes = run_pipeline([email for _, email in emails], config)
    wall = time.perf_counter() - started

    rows = []
    for (name, _), outcome in zip(emails, outcomes, strict=True):
        draft = outcome["draft"]
        result = draft["result"] or {}
        rows.append(
            {
                "email": name,
                "language": (outcome["language"]["result"] or {}).get("language"),
                "backend": result.get("backend"),
                "sentence": model_sentence(result.get("text") or "")
                if result.get("backend") in model_backends
                else None,
                "error": draft["error"],
            }
        )
    model = [r for r in rows if r["backend"] in model_backends]
    english = [r for r in rows if r["language"] == "en"]
    english_model = [r for r in english if r["backend"] in model_backends]
    figures = {
        "emails": len(rows),
        "model_written": len(model),
        "model_share": round(len(model) / len(rows), 3) if rows else None,
        "english_emails": len(english),
        "english_model_written": len(english_model),
        "english_model_share": (
            round(len(english_model) / len(english), 3) if english else None
        ),
        "errors": sum(1 for r in rows if r["error"]),
        "draft_model": outcomes[0]["draft"]["model"] if outcomes else None,
        "engine": args.engine,
        "wall_s": round(wall, 1),
        "per_email": rows,
        "python": platform.python_version(),
        "host": host(),
        "cpus": len(os.sched_getaffinity(0)),
    }
    for row in rows:
        print(
            f"{row['email']:<32} {row['language'] or '-':<3} "
            f"{row['backend'] or '-':<9} {row['sentence'] or ''}"
        )
    print(
        f"model-written drafts: {len(model)}/{len(rows)} "
        f"({figures['model_share']:.0%}); English mail: "
        f"{len(english_model)}/{len(english)} ({figures['english_model_share']:.0%}); "
        f"engine {args.engine}; {wall:.0f} s for the pipeline"
        + (f"; {figures['errors']} drafts FAILED" if figures["errors"] else "")
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"measured on {describe(figures['host'])}; wrote {args.out}")
    return 0 if figures["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
