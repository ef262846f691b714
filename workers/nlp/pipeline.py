"""The whole triage of DESIGN §4 over a batch of emails: plain data in and out.

``run_pipeline(emails, config)`` runs each registered step (workers.nlp.registry,
one module per step under ``workers/nlp/steps``) once over the whole batch and
returns, per email, step -> :class:`~workers.contract.StepOutcome`.

Two languages matter. The *analysis language* (``analysis_language``, "en") is what
the sentiment, entity, answer, summary, intent and draft models read: mail in
another language is translated into it and those steps run on the translation. The
*agent language* (``agent_language``) is what agents read: the translation shown
beside the original. Usually both are "en" and one translation serves both;
otherwise a second, display translation is made. Every outcome says which text it
was computed on (``"on": "original" | "translation"``); :func:`analysis_text`
returns that text, so span offsets are never ambiguous.

Failures stay local: a step that fails records its error for the emails it failed
for and the others still run; a step whose input came from a failed step runs with
what it has (the draft without an answer, the analysis on the original when the
translation failed) and says so through ``on``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from workers.contract import STEP_NAMES, EmailInput, StepOutcome, as_email_input
from workers.nlp.cache import run_scope
from workers.nlp.config import PipelineConfig
from workers.nlp.errors import is_interrupt
from workers.nlp.intent import DEFAULT_INTENT_LABELS
from workers.nlp.language import DEFAULT_LANGUAGES
from workers.nlp.registry import backends, specs
from workers.nlp.resume import seed
from workers.nlp.steps.base import Batch, Partial, Step, timed_ms, tiny_model

logger = logging.getLogger(__name__)

# The built-in steps, in pipeline order (steps added as files run too).
PIPELINE_STEPS: tuple[str, ...] = STEP_NAMES
__all__ = [
    "DEFAULT_INTENT_LABELS",
    "DEFAULT_LANGUAGES",
    "PIPELINE_STEPS",
    "EmailInput",
    "PipelineConfig",
    "analysis_text",
    "default_backends",
    "preload",
    "run_pipeline",
]


def default_backends() -> dict[str, str]:
    """step -> its default backend, for every step that offers a choice."""
    return {step: choices[0] for step, choices in backends().items()}


def analysis_text(
    email_text: str, outcomes: Mapping[str, StepOutcome], step: str
) -> str:
    """The text that ``outcomes[step]`` was computed on (its offsets point into it)."""
    if outcomes[step].get("on") != "translation":
        return email_text
    translation = outcomes["translation"]["result"]
    return str((translation.get("analysis") or translation)["text"])


def run_pipeline(
    emails: Sequence[Mapping[str, Any]],
    config: PipelineConfig,
    steps: Sequence[str] | None = None,
    prior: Sequence[Mapping[str, StepOutcome]] | None = None,
) -> list[dict[str, StepOutcome]]:
    """One dict per email (input order): step -> outcome, for each of ``steps``
    (default: every registered step).

    Steps run in pipeline order whatever the order of ``steps``; a step's
    ``requires`` (the language, for translation and the draft) run whenever it
    does, but are only reported when asked for. An unknown step name is an error
    outcome, not an exception.

    ``prior`` (one mapping per email): outcomes computed earlier (saved by an
    encode task, or the steps that succeeded before a retry). Their results are
    what later steps read, as if they had run in this batch; a step every email
    has a prior outcome of is not run again unless asked for in ``steps``.
    """
    registered = specs()
    requested = list(dict.fromkeys(steps if steps is not None else _names(registered)))
    batch = Batch([as_email_input(e) for e in emails], config)
    if not batch.emails:
        return []
    seeded = seed(batch, prior) if prior is not None else set()
    wanted = set(requested)
    for spec in reversed(registered):
        if spec.name in wanted:
            wanted.update(r for r in spec.requires if r not in seeded)
    with run_scope():
        for spec in registered:
            if spec.name in wanted:
                _run_step(spec, batch)
    known = set(_names(registered))
    for step in requested:
        if step not in known:
            error = f"ValueError: unknown step {step!r}; known: " + ", ".join(
                _names(registered)
            )
            for outcome in batch.outcomes:
                outcome[step] = _outcome(
                    Partial(None, error, "", None, False, None), 0.0
                )
    return [{step: outcome[step] for step in requested} for outcome in batch.outcomes]


def preload(
    config: PipelineConfig,
    steps: Sequence[str] | None = None,
    *,
    language_pairs: Sequence[tuple[str, str]] = (),
) -> dict[str, float]:
    """Load every model ``steps`` need now rather than on the first batch.

    For a worker's start (in the child process, after fork) and for benchmarks.
    Translation models of a ``{src}``/``{tgt}`` setting are loaded for
    ``language_pairs`` only. Returns seconds per step; raises what a load raises.
    """
    timings: dict[str, float] = {}
    for spec in specs():
        if steps is not None and spec.name not in steps:
            continue
        started = time.perf_counter()
        spec.preload(config, language_pairs=language_pairs)
        timings[spec.name] = time.perf_counter() - started
    return timings


def _names(registered: Sequence[Step]) -> list[str]:
    return [spec.name for spec in registered]


def _run_step(spec: Step, batch: Batch) -> None:
    """``spec.run(batch)`` on the mail the step reads, timed; the rest is recorded
    as not analysed (with the reason), a failure as every email's error outcome."""
    n = len(batch)
    started = time.perf_counter()
    reasons = spec.not_analysed(batch)
    readable = [i for i, reason in enumerate(reasons) if reason is None]
    partials: list[Partial | None] = [
        None
        if reason is None
        else Partial(
            None, None, _model_or_blank(spec, batch.config), None, False, None, reason
        )
        for reason in reasons
    ]
    if readable:
        part = batch if len(readable) == n else batch.subset(readable)
        for i, partial in zip(readable, _run_on(spec, part), strict=True):
            partials[i] = partial
    done = [p for p in partials if p is not None]
    duration_ms = timed_ms(started, max(len(readable), 1))
    batch.results[spec.name] = [p.result if p.error is None else None for p in done]
    for outcome, partial in zip(batch.outcomes, done, strict=True):
        outcome[spec.name] = _outcome(
            partial, 0.0 if partial.not_analysed else duration_ms
        )


def _run_on(spec: Step, batch: Batch) -> list[Partial]:
    """``spec.run(batch)``; a failure becomes every email's error outcome."""
    n = len(batch)
    try:
        partials = spec.run(batch)
        if len(partials) != n:
            raise RuntimeError(f"{len(partials)} results for {n}")
    except Exception as exc:
        if is_interrupt(exc):
            raise
        logger.exception("step %s failed for a batch of %s emails", spec.name, n)
        model = _model_or_blank(spec, batch.config)
        error = f"{type(exc).__name__}: {exc}"
        partials = [
            Partial(None, error, model, None, tiny_model(model), on)
            for on in spec.failed_on(batch)
        ]
    return partials


def _model_or_blank(spec: Step, config: PipelineConfig) -> str:
    try:
        return spec.model(config)
    except ValueError:
        return ""


def _outcome(partial: Partial, duration_ms: float) -> StepOutcome:
    return {
        "result": partial.result,
        "error": partial.error,
        "model": partial.model,
        "revision": partial.revision,
        "tiny": partial.tiny,
        "duration_ms": duration_ms,
        "on": partial.on,  # type: ignore[typeddict-item]
        "not_analysed": partial.not_analysed,
    }
