"""Intent over the configured labels, and the ticket priority derived from it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.contract import TriagedIntent
from workers.nlp.cache import load_once
from workers.nlp.offline import expect
from workers.nlp.priority import priority
from workers.nlp.steps.base import Batch, Step

if TYPE_CHECKING:
    from workers.nlp.config import PipelineConfig


def _zero_shot(model: str, config: PipelineConfig) -> Any:
    from workers.nlp.intent import IntentStep

    labels = tuple(config.intent_labels)
    return load_once(
        ("intent", model, labels), lambda: IntentStep(model, labels=labels)
    )


def _offline(model: str, config: PipelineConfig) -> Any:
    """``offline:minilm-heads[@dir]``: a head trained on MiniLM embeddings."""
    labels = tuple(config.intent_labels)

    def build() -> Any:
        from workers.nlp.offline.heads import IntentHeadStep

        return IntentHeadStep(expect(model, "minilm-heads") or None, labels=labels)

    return load_once(("offline", "intent", model, labels), build)


class IntentSpec(Step):
    name = "intent"
    label = "Intent"
    order = 70
    result_type = TriagedIntent
    # Priority reads the sentiment when it ran.
    inputs = ("sentiment",)
    backends = {"zero-shot": _zero_shot}
    offline = _offline
    tiny_builder = "workers.nlp_testing.tiny_generators:build_intent"

    def postprocess(self, batch: Batch, results: list[Any]) -> list[Any]:
        sentiments = batch.result("sentiment")
        for i, result in enumerate(results):
            level, reasons = priority(
                intent=result["label"],
                sentiment=sentiments[i],
                texts=(batch.emails[i]["subject"], batch.texts[i], batch.analysis[i]),
            )
            result["priority"] = level
            result["priority_reasons"] = reasons
        return results


STEP = IntentSpec()
