"""Resume a pipeline run from outcomes computed earlier (another task, an
earlier attempt): the batch is given what those steps produced, so the steps
that still have to run read the same inputs as in one uninterrupted run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workers.contract import StepOutcome
from workers.nlp.steps.base import Batch


def seed(batch: Batch, prior: Sequence[Mapping[str, StepOutcome]]) -> set[str]:
    """Put ``prior`` into ``batch``; returns the steps every email has an outcome
    of (those need not run again)."""
    if len(prior) != len(batch):
        raise ValueError(f"{len(prior)} prior outcomes for {len(batch)} emails")
    steps = set().union(*(set(outcomes) for outcomes in prior)) if prior else set()
    for step in steps:
        batch.results[step] = [_result(outcomes.get(step)) for outcomes in prior]
        for outcome, outcomes in zip(batch.outcomes, prior, strict=True):
            if step in outcomes:
                outcome[step] = outcomes[step]
    for i, outcomes in enumerate(prior):
        language = _result(outcomes.get("language"))
        if isinstance(language, Mapping):
            batch.language[i] = language.get("language")
        # Even a translation outcome with an error (the display translation
        # failed) may hold the analysis translation the steps read.
        translation = outcomes.get("translation")
        text = _analysis_translation(translation["result"] if translation else None)
        if text:
            # What the translation step sets: later steps read the translation.
            batch.analysis[i] = text
            batch.on[i] = "translation"
    return {step for step in steps if all(step in o for o in prior)}


def _result(outcome: StepOutcome | None) -> Any:
    if not outcome or outcome.get("error"):
        return None
    return outcome.get("result")


def _analysis_translation(result: Any) -> str | None:
    """The analysis-language text of a stored translation result, if the mail
    was translated (the translation step's own rule)."""
    if not isinstance(result, Mapping):
        return None
    analysis = result.get("analysis") or result
    if not isinstance(analysis, Mapping) or analysis.get("skipped"):
        return None
    return str(analysis.get("text") or "") or None
