"""Named entities as whole words, offsets into the analysis text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.contract import Entity
from workers.nlp.cache import load_once
from workers.nlp.offline import expect
from workers.nlp.steps.base import Step

if TYPE_CHECKING:
    from workers.nlp.config import PipelineConfig


def _hub(model: str, config: PipelineConfig) -> Any:
    from workers.nlp.entities import EntitiesStep

    return load_once(("entities", model), lambda: EntitiesStep(model))


def _offline(model: str, config: PipelineConfig) -> Any:
    """``offline:spacy``: spaCy's en_core_web_sm."""

    def build() -> Any:
        from workers.nlp.offline.spacy_ner import SpacyEntitiesStep

        expect(model, "spacy")
        return SpacyEntitiesStep()

    return load_once(("offline", "entities", model), build)


class EntitiesSpec(Step):
    name = "entities"
    label = "Entities"
    order = 40
    result_type = list[Entity]
    backends = {"hub": _hub}
    offline = _offline
    tiny_builder = "workers.nlp_testing.tiny_encoders:build_entities"


STEP = EntitiesSpec()
