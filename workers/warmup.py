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

A failed load is logged and left to the task that needs the model, which
records the error on its step, as it would without this.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Mapping

logger = logging.getLogger(__name__)


def served_steps(
    consumed: Collection[str] | None, stage_queues: Mapping[str, str]
) -> list[str] | None:
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


def _run(steps: list[str]) -> None:
    started = time.perf_counter()
    try:
        timings = preload_models(steps)
    except Exception:
        logger.exception(
            "preloading the models of %s failed; the first task that needs "
            "them loads them again and records the error on its step",
            ", ".join(steps),
        )
        return
    by_step = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items())
    logger.info("models ready in %.1f s (%s)", time.perf_counter() - started, by_step)


def start(steps: list[str]) -> threading.Thread | None:
    """Preload ``steps``' models in a daemon thread (none for no steps)."""
    if not steps:
        return None
    logger.info("preloading the models of %s", ", ".join(steps))
    thread = threading.Thread(
        target=_run, args=(steps,), name="triage-preload", daemon=True
    )
    thread.start()
    return thread
