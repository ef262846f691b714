"""Triage NLP steps: plain texts in, plain JSON-ready results out.

Knows nothing of Django. Importing this package loads neither torch nor
transformers; models load on first use in the process that runs them.
"""

from workers.nlp.answer import QUESTION
from workers.nlp.registry import STEPS, Step, get_step
from workers.nlp.runner import StepOutcome, run_steps
from workers.nlp.tiny import is_tiny

__all__ = [
    "QUESTION",
    "STEPS",
    "Step",
    "StepOutcome",
    "get_step",
    "is_tiny",
    "run_steps",
]
