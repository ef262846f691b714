"""Triage NLP steps: plain texts in, plain JSON-ready results out.

Knows nothing of Django. Importing this package loads neither torch nor
transformers; models load on first use in the process that runs them.

``run_pipeline(emails, PipelineConfig(...))`` is the whole triage (DESIGN §4);
``run_steps(texts, models)`` runs the plain-text steps (sentiment, entities,
answer) alone.
"""

from workers.nlp.answer import QUESTION
from workers.nlp.pipeline import (
    DEFAULT_BACKENDS,
    DEFAULT_INTENT_LABELS,
    DEFAULT_LANGUAGES,
    PIPELINE_STEPS,
    EmailInput,
    PipelineConfig,
    analysis_text,
    preload,
    run_pipeline,
)
from workers.nlp.registry import STEPS, Step, get_step
from workers.nlp.runner import StepOutcome, run_steps
from workers.nlp.tiny import is_tiny

__all__ = [
    "DEFAULT_BACKENDS",
    "DEFAULT_INTENT_LABELS",
    "DEFAULT_LANGUAGES",
    "PIPELINE_STEPS",
    "QUESTION",
    "STEPS",
    "EmailInput",
    "PipelineConfig",
    "Step",
    "StepOutcome",
    "analysis_text",
    "get_step",
    "is_tiny",
    "preload",
    "run_pipeline",
    "run_steps",
]
