"""Summary of the analysis text (short mail is its own summary)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.contract import Summary
from workers.nlp.cache import load_once
from workers.nlp.generation import sorted_call
from workers.nlp.offline import expect
from workers.nlp.steps.base import Batch, Step

if TYPE_CHECKING:
    from workers.nlp.config import PipelineConfig


def _generator(backend: str) -> Any:
    def load(model: str, config: PipelineConfig) -> Any:
        from workers.nlp.summary import SummaryStep

        # A thin per-config wrapper; the model inside loads once per process.
        return SummaryStep(
            model,
            backend=backend,
            min_words=config.summary_min_words,
            max_new_tokens=config.summary_max_length,
            batch_size=config.batch_size,
            language=config.analysis_language,
        )

    return load


def _offline(model: str, config: PipelineConfig) -> Any:
    """``offline:minilm-select``: the sentences that carry the email."""

    def build() -> Any:
        from workers.nlp.offline.select import SummarySelectStep

        expect(model, "minilm-select")
        return SummarySelectStep()

    return load_once(("offline", "summary", model), build)


class SummarySpec(Step):
    name = "summary"
    label = "Summary"
    order = 60
    stage = "generate"
    result_type = Summary
    backends = {"seq2seq": _generator("seq2seq"), "chat": _generator("chat")}
    offline = _offline
    tiny_builder = "workers.nlp_testing.tiny_generators:build_summary"

    def forward(self, runner: Any, items: list[Any], batch: Batch) -> list[Any]:
        # The summary step batches by its own batch_size (set from the config).
        return sorted_call(runner, items, key=len)


STEP = SummarySpec()
