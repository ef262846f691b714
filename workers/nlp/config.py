"""``PipelineConfig``: everything the pipeline needs to know; plain values, no Django.

Which backends a step offers, and which model serves it by default, are the step's
own (its spec under ``workers/nlp/steps``: ``spec.backend(config)``,
``spec.model(config)``); this module only carries the choices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from workers.contract import CHAT_MODEL_KEY
from workers.nlp.intent import DEFAULT_INTENT_LABELS
from workers.nlp.language import DEFAULT_LANGUAGES


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the pipeline needs to know; plain values, no Django."""

    # step -> HF id or local path; "translation" may hold {src}/{tgt}; "chat" is
    # the instruction model for every step whose backend is "chat"; "language"
    # names the detector (default "lingua").
    models: Mapping[str, str]
    agent_language: str = "en"
    analysis_language: str = "en"
    intent_labels: Sequence[str] = DEFAULT_INTENT_LABELS
    # step -> backend name; missing steps use the step's first (default) backend.
    backends: Mapping[str, str] = field(default_factory=dict)
    summary_min_words: int = 60
    summary_max_length: int = 60
    draft_max_new_tokens: int = 120
    draft_max_chars: int = 1200
    shop_name: str = "our shop"
    shop_email: str = ""
    agent_signature: str = "Customer Service"
    batch_size: int = 16
    # Candidate languages of the detector (ISO 639-1); the agent and analysis
    # languages are always added.
    languages: Sequence[str] = DEFAULT_LANGUAGES
    # step -> the languages its configured model reads, where that differs from
    # the step's declaration (a multilingual Hub model for sentiment, say).
    step_languages: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def chat_model(self) -> str:
        return self.models.get(CHAT_MODEL_KEY, "")

    def detector_languages(self) -> tuple[str, ...]:
        codes = {*self.languages, self.agent_language, self.analysis_language}
        return tuple(sorted(code.lower() for code in codes if code))
