"""Language identification (lingua): routes translation and the draft's language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.contract import Language
from workers.nlp.generation import sorted_call
from workers.nlp.language import DETECTOR, get_detector
from workers.nlp.steps.base import Batch, Step

if TYPE_CHECKING:
    from workers.nlp.config import PipelineConfig


class LanguageSpec(Step):
    name = "language"
    label = "Language"
    order = 10
    result_type = Language
    reads = "original"
    languages = "any"
    # A packaged detector, not a transformers model: no backends to choose from.
    default_model = DETECTOR

    def load(self, config: PipelineConfig) -> Any:
        return get_detector(self.require_model(config), config.detector_languages())

    def forward(self, runner: Any, items: list[Any], batch: Batch) -> list[Any]:
        return sorted_call(runner, items, key=len)

    def postprocess(self, batch: Batch, results: list[Any]) -> list[Any]:
        batch.language = [result["language"] for result in results]
        return results


STEP = LanguageSpec()
