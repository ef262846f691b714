"""Sentiment of the analysis text: one label and its score per email."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.contract import Sentiment
from workers.nlp.cache import load_once
from workers.nlp.offline import expect
from workers.nlp.steps.base import Step

if TYPE_CHECKING:
    from workers.nlp.config import PipelineConfig


def _hub(model: str, config: PipelineConfig) -> Any:
    from workers.nlp.sentiment import SentimentStep

    return load_once(("sentiment", model), lambda: SentimentStep(model))


def _offline(model: str, config: PipelineConfig) -> Any:
    """``offline:minilm-heads[@dir]``: a head trained on MiniLM embeddings."""

    def build() -> Any:
        from workers.nlp.offline.heads import SentimentHeadStep

        return SentimentHeadStep(expect(model, "minilm-heads") or None)

    return load_once(("offline", "sentiment", model), build)


class SentimentSpec(Step):
    name = "sentiment"
    label = "Sentiment"
    order = 30
    result_type = Sentiment
    backends = {"hub": _hub}
    offline = _offline
    tiny_builder = "workers.nlp_testing.tiny_encoders:build_sentiment"


STEP = SentimentSpec()
