"""A model worker loads its models when it starts, not inside the first task.

Loading the offline profile takes 8-12 s on a 2-core CPU (55 s the first time
on a host: the heads are trained and the GGUF draft model converted, then kept
on disk), and a Hub profile on a GPU longer. Left lazy, that time lands on the
first message after every deploy or restart, under that task's soft time limit.
So each process that runs triage tasks (the prefork child, or the worker itself
for the solo and thread pools) loads, in a background thread, the models of the
steps its queues serve: the process still answers its pool at once (a prefork
child that takes more than 4 s to report in is killed by Celery), and a task
that arrives first waits on the model cache's lock for the model it needs
(workers/nlp/cache.py), which is then loaded once.

Translation models of a templated setting (opus-mt-{src}-{tgt}, one per pair)
stay lazy: a desk that lists ten customer languages would otherwise hold twenty
models most of which its mail never needs.

Once loaded, the steps run once on a made-up email (WARM_UP below; nothing is
saved): the first real mail otherwise also pays for what a model does only on
its first call (oneDNN kernels built for new shapes, lingua's per-language
models, the draft's prefix cache). Measured with `bench/first_mail.py`.

A failed load is logged and left to the task that needs the model, which
records the error on its step, as it would without this.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.nlp import PipelineConfig

logger = logging.getLogger(__name__)

# Made up (the customer and the shop are fictional): a complaint, long enough for
# every step to run its model (the summary skips short mail, the draft writes its
# apology only for a complaint).
WARM_UP = {
    "subject": "Damaged order",
    "text": (
        "Hello, I am very disappointed. The desk lamp I ordered two weeks ago "
        "(order #10442) arrived yesterday with a cracked base and a broken switch, "
        "and the box was torn open. I have waited a long time for this order and "
        "it is useless to me now. I tried calling your support line twice but "
        "nobody answered. Could you please send a replacement as soon as "
        "possible, or refund the full price to my card? I would also like to know "
        "how to return the damaged lamp. Thanks, Sam"
    ),
    "customer_name": "Sam Example",
    "customer_email": "sam@example.invalid",
}


def served_steps(
    consumed: Collection[str] | None, stage_queues: Mapping[str, str]
) -> list[str]:
    """The steps a worker consuming ``consumed`` runs, in pipeline order.

    ``stage_queues``: stage -> queue (TRIAGE_STAGE_QUEUES). None or empty
    ``consumed`` (no -Q: Celery's default queues) counts as every queue.
    An empty list: a worker that runs no model (mail, default).
    """
    from workers.nlp.stages import STAGES, stage_steps

    stages = [
        stage for stage in STAGES if not consumed or stage_queues.get(stage) in consumed
    ]
    return [step for stage in stages for step in stage_steps(stage)]


def preload_models(steps: list[str]) -> dict[str, float]:
    """Load ``steps``' models in this process; seconds per step."""
    from workers import nlp
    from workers.config import pipeline_config

    return nlp.preload(pipeline_config(), steps)


def on_a_server(step: str, config: PipelineConfig) -> bool:
    """Whether an OpenAI-compatible server runs ``step``: the warm-up leaves it
    out (a request per worker start to a hosted endpoint costs money, and the
    server warms itself)."""
    from workers.nlp.engines.generators import OPENAI_PREFIX

    model = config.models.get(step, "")
    if model == "offline:openai" or model.startswith(OPENAI_PREFIX):
        return True
    chat = config.chat_model()
    return config.backends.get(step) == "chat" and chat.startswith(OPENAI_PREFIX)


def warm_up(steps: list[str]) -> list[str]:
    """Run ``steps`` (those no server runs) once on WARM_UP, results dropped;
    the steps that failed.

    A generation host's steps run without the encoder steps' results here
    (no ``prior``): what they read is missing, which may fail or skip them, and
    is only logged.
    """
    from workers import nlp
    from workers.config import pipeline_config

    config = pipeline_config()
    local = [step for step in steps if not on_a_server(step, config)]
    if not local:
        return []
    [outcomes] = nlp.run_pipeline([WARM_UP], config, steps=local)
    return [step for step, outcome in outcomes.items() if outcome["error"]]


def ready_record(steps: list[str], seconds: float, failed: list[str]) -> dict:
    return {
        "pid": os.getpid(),
        "steps": steps,
        "seconds": round(seconds, 2),
        "warm_up_failed": failed,
    }


def mark_ready(path: Path, record: dict) -> None:
    """Write ``record`` to ``path`` whole or not at all (a health check reads it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record) + "\n")
    os.replace(tmp, path)


def _run(steps: list[str], ready_file: Path | None) -> None:
    started = time.perf_counter()
    try:
        timings = preload_models(steps)
        loaded_s = time.perf_counter() - started
        failed = warm_up(steps)
    except Exception:
        logger.exception(
            "preloading the models of %s failed; the first task that needs "
            "them loads them again and records the error on its step",
            ", ".join(steps),
        )
        return
    ready_s = time.perf_counter() - started
    by_step = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items())
    logger.info(
        "models ready in %.1f s (loaded in %.1f s: %s; warm-up %s)",
        ready_s,
        loaded_s,
        by_step,
        f"failed in {', '.join(failed)}" if failed else "done",
    )
    if ready_file is not None:
        try:
            mark_ready(ready_file, ready_record(steps, ready_s, failed))
        except OSError:
            logger.exception("could not write %s", ready_file)


def start(steps: list[str], ready_file: Path | None = None) -> threading.Thread | None:
    """Preload ``steps``' models in a daemon thread (none for no steps); then
    write ``ready_file`` (TRIAGE_WORKER_READY_FILE: the container's health check)."""
    if not steps:
        return None
    logger.info("preloading the models of %s", ", ".join(steps))
    thread = threading.Thread(
        target=_run, args=(steps, ready_file), name="triage-preload", daemon=True
    )
    thread.start()
    return thread
