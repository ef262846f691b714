"""Run several steps over one batch of texts; one step's failure spares the rest."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from workers.nlp.errors import is_interrupt
from workers.nlp.registry import STEPS, get_step
from workers.nlp.tiny import is_tiny

logger = logging.getLogger(__name__)


class StepOutcome(TypedDict):
    result: Any
    error: str | None
    model: str
    revision: str | None
    tiny: bool
    duration_ms: float
    # Which text the result was computed on (its offsets point into it):
    # "original" or "translation" (see pipeline.analysis_text); None when no
    # text was read (an unknown step).
    on: str | None


def run_steps(
    texts: list[str],
    models: Mapping[str, str],
    steps: Sequence[str] = STEPS,
) -> list[dict[str, StepOutcome]]:
    """One dict per text: step -> outcome, in the order of ``texts``.

    ``models`` maps step -> model id or path. A step that cannot load, fails, or has
    no model records its error for every text of the batch.
    """
    texts = list(texts)
    outcomes: list[dict[str, StepOutcome]] = [{} for _ in texts]
    if not texts:
        return outcomes
    # Similar lengths batched together pad less; results go back by index.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    ordered = [texts[i] for i in order]
    for step in steps:
        model = models.get(step) or ""
        revision: str | None = None
        tiny = bool(model) and is_tiny(model)
        error: str | None = None
        results: list[Any] = [None] * len(texts)
        started = time.perf_counter()
        try:
            if not model:
                raise LookupError(f"no model configured for step {step!r}")
            runner = get_step(step, model)
            revision, tiny = runner.revision, runner.tiny
            results = list(runner(ordered))
            if len(results) != len(ordered):
                raise RuntimeError(
                    f"{step} returned {len(results)} results for {len(ordered)} texts"
                )
        except Exception as exc:
            if is_interrupt(exc):
                raise
            logger.exception(
                "step %s failed for a batch of %s texts (model %r)",
                step,
                len(texts),
                model,
            )
            error = f"{type(exc).__name__}: {exc}"
            results = [None] * len(texts)
        # Steps run on the whole batch, so per-text time is the batch's wall time
        # shared evenly, not a measurement of that text.
        duration_ms = (time.perf_counter() - started) * 1000.0 / len(texts)
        for position, index in enumerate(order):
            outcomes[index][step] = {
                "result": results[position],
                "error": error,
                "model": model,
                "revision": revision,
                "tiny": tiny,
                "duration_ms": duration_ms,
                "on": "original",
            }
    return outcomes
