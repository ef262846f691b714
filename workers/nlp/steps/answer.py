""" "What does the customer want?": a span of the analysis text (or a chat answer)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.contract import Answer
from workers.nlp.cache import load_once
from workers.nlp.offline import expect
from workers.nlp.steps.base import Step

if TYPE_CHECKING:
    from workers.nlp.config import PipelineConfig

CHAT_ANSWER_MAX_NEW_TOKENS = 32


def _extractive(model: str, config: PipelineConfig) -> Any:
    from workers.nlp.answer import AnswerStep

    return load_once(("answer", model), lambda: AnswerStep(model))


def _chat(model: str, config: PipelineConfig) -> Any:
    from workers.nlp.answer import ChatAnswerStep

    return load_once(
        ("answer-chat", model),
        lambda: ChatAnswerStep(model, max_new_tokens=CHAT_ANSWER_MAX_NEW_TOKENS),
    )


def _offline(model: str, config: PipelineConfig) -> Any:
    """``offline:minilm-select``: the sentence closest to what customers ask for."""

    def build() -> Any:
        from workers.nlp.offline.select import AnswerSelectStep

        expect(model, "minilm-select")
        return AnswerSelectStep()

    return load_once(("offline", "answer", model), build)


class AnswerSpec(Step):
    name = "answer"
    label = "What the customer wants"
    order = 50
    result_type = Answer
    backends = {"extractive": _extractive, "chat": _chat}
    offline = _offline
    tiny_builder = "workers.nlp_testing.tiny_encoders:build_answer"


STEP = AnswerSpec()
