"""Triage NLP steps: plain texts in, plain JSON-ready results out.

Knows nothing of Django. Importing this package loads neither torch nor
transformers; models load on first use in the process that runs them.

``run_pipeline(emails, PipelineConfig(...))`` is the whole triage (DESIGN §4): the
steps of ``workers/nlp/steps`` (one module each, see README.md) in order. The
shapes that cross to Core are in ``workers.contract``.
"""

from workers.contract import EmailInput, StepOutcome
from workers.nlp.answer import QUESTION
from workers.nlp.pipeline import (
    DEFAULT_INTENT_LABELS,
    DEFAULT_LANGUAGES,
    PIPELINE_STEPS,
    PipelineConfig,
    analysis_text,
    default_backends,
    preload,
    run_pipeline,
)
from workers.nlp.registry import STEPS, Step, get_spec, get_step, specs
from workers.nlp.tinymark import is_tiny

__all__ = [
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
    "default_backends",
    "get_spec",
    "get_step",
    "is_tiny",
    "preload",
    "run_pipeline",
    "specs",
]
