"""Each step on tiny random models.

Random weights give meaningless labels, so these tests check only what such a model
can honestly produce: shapes, order, label sets, spans inside the text, scores in
[0, 1], JSON-ready values, and that batching or windowing changes nothing.
"""

from __future__ import annotations

import json
import random

import pytest
from transformers import AutoConfig, AutoTokenizer

from workers.nlp import QUESTION, STEPS, get_step
from workers.nlp.answer import AnswerStep
from workers.nlp_testing.tiny import BUMBLEBEE

TEXTS = [
    BUMBLEBEE,
    "",
    "Meine Bestellung ist nicht angekommen. Bitte um Erstattung.",
    "Bonjour, je voudrais un remboursement.",
    "Amazon",
    "   \n ",
]
# Repeated so it runs past the 512-token window (checked in the tests).
LONG_BUMBLEBEE = " ".join([BUMBLEBEE] * 8)


def _long_unknown_words() -> str:
    """Made-up words split into many pieces: window edges then fall inside words."""
    rng = random.Random(0)
    words = (
        "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(6, 12)))
        for _ in range(400)
    )
    return " ".join(word.capitalize() for word in words)


LONG_UNKNOWN = _long_unknown_words()


@pytest.fixture(scope="module")
def steps(tiny_models):
    return {name: get_step(name, tiny_models[name]) for name in STEPS}


def _token_count(path: str, text: str) -> int:
    return len(AutoTokenizer.from_pretrained(path)(text, verbose=False)["input_ids"])


def _is_word_start(text: str, i: int) -> bool:
    return i == 0 or not (text[i - 1].isalnum() and text[i].isalnum())


def _is_word_end(text: str, i: int) -> bool:
    return i == len(text) or not (text[i - 1].isalnum() and text[i].isalnum())


def _roundtrip(value):
    return json.loads(json.dumps(value))


def test_steps_describe_their_model(steps, tiny_models):
    assert set(steps) == {"sentiment", "entities", "answer"}
    for name, step in steps.items():
        assert step.name == name
        assert step.model_id == tiny_models[name]
        assert step.revision is None  # a local dir has no Hub commit
        assert step.tiny is True


def test_get_step_loads_once(steps, tiny_models):
    for name in STEPS:
        assert get_step(name, tiny_models[name]) is steps[name]


def test_get_step_rejects_an_unknown_step(tiny_models):
    with pytest.raises(ValueError, match="unknown step"):
        get_step("horoscope", tiny_models["sentiment"])


def test_empty_batch_gives_empty_list(steps):
    assert all(step([]) == [] for step in steps.values())


# --- sentiment ---------------------------------------------------------------


def test_sentiment_one_label_per_text(steps, tiny_models):
    labels = set(AutoConfig.from_pretrained(tiny_models["sentiment"]).id2label.values())
    results = steps["sentiment"](TEXTS)
    assert len(results) == len(TEXTS)
    for result in results:
        assert set(result) == {"label", "score"}
        assert result["label"] in labels
        assert type(result["score"]) is float and 0.0 <= result["score"] <= 1.0
    assert _roundtrip(results) == results


def test_sentiment_batch_equals_single(steps):
    batch = steps["sentiment"](TEXTS)
    for text, result in zip(TEXTS, batch, strict=True):
        (single,) = steps["sentiment"]([text])
        assert single["label"] == result["label"]
        assert single["score"] == pytest.approx(result["score"], abs=1e-5)


def test_sentiment_truncates_long_text(steps, tiny_models):
    assert _token_count(tiny_models["sentiment"], LONG_BUMBLEBEE) > 512
    (result,) = steps["sentiment"]([LONG_BUMBLEBEE])
    assert 0.0 <= result["score"] <= 1.0


# --- entities ----------------------------------------------------------------


def _check_entities(text: str, entities: list[dict], labels: frozenset[str]) -> None:
    previous_end = 0
    for entity in entities:
        assert set(entity) == {"label", "text", "start", "end", "score"}
        assert entity["label"] in labels and entity["label"] != "O"
        assert type(entity["start"]) is int and type(entity["end"]) is int
        assert previous_end <= entity["start"] < entity["end"] <= len(text)
        assert entity["text"] == text[entity["start"] : entity["end"]]
        assert "##" not in entity["text"]
        assert _is_word_start(text, entity["start"]), entity
        assert _is_word_end(text, entity["end"]), entity
        assert type(entity["score"]) is float and 0.0 <= entity["score"] <= 1.0
        previous_end = entity["end"]


def test_entities_are_whole_words_with_offsets_into_the_text(steps):
    step = steps["entities"]
    results = step(TEXTS)
    assert len(results) == len(TEXTS)
    for text, entities in zip(TEXTS, results, strict=True):
        _check_entities(text, entities, step.labels)
    assert results[1] == [] and results[5] == []
    assert results[0], "a random 9-label model tags some words of the email"
    assert _roundtrip(results) == results


def test_entities_batch_equals_single(steps):
    batch = steps["entities"](TEXTS)
    for text, entities in zip(TEXTS, batch, strict=True):
        (single,) = steps["entities"]([text])
        assert [(e["label"], e["start"], e["end"]) for e in single] == [
            (e["label"], e["start"], e["end"]) for e in entities
        ]
        for a, b in zip(single, entities, strict=True):
            assert a["score"] == pytest.approx(b["score"], abs=1e-5)


@pytest.mark.parametrize(
    "text", [LONG_BUMBLEBEE, LONG_UNKNOWN], ids=["email", "pieces"]
)
def test_entities_cover_long_text_in_windows(steps, tiny_models, text):
    path = tiny_models["entities"]
    assert _token_count(path, text) > 512
    step = steps["entities"]
    (entities,) = step([text])
    # Whole words only: a window edge inside a word must not leak a fragment.
    _check_entities(text, entities, step.labels)
    # The tail past the first window was read, not truncated away.
    tokenizer = AutoTokenizer.from_pretrained(path)
    first_window_end = tokenizer(text, return_offsets_mapping=True, truncation=True)[
        "offset_mapping"
    ][-2][1]
    assert max(entity["end"] for entity in entities) > first_window_end


# --- answer ------------------------------------------------------------------


def _check_answer(text: str, result: dict) -> None:
    assert set(result) == {"question", "answer", "score", "start", "end"}
    assert result["question"] == QUESTION
    assert type(result["start"]) is int and type(result["end"]) is int
    assert 0 <= result["start"] <= result["end"] <= len(text)
    assert result["answer"] == text[result["start"] : result["end"]]
    assert type(result["score"]) is float and 0.0 <= result["score"] <= 1.0


def test_answer_is_a_span_of_the_email(steps):
    results = steps["answer"](TEXTS)
    assert len(results) == len(TEXTS)
    for text, result in zip(TEXTS, results, strict=True):
        _check_answer(text, result)
    bumblebee = results[0]
    assert bumblebee["answer"] and bumblebee["score"] > 0.0
    assert _is_word_start(BUMBLEBEE, bumblebee["start"])
    assert _is_word_end(BUMBLEBEE, bumblebee["end"])
    assert _roundtrip(results) == results


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_answer_to_an_empty_email_is_empty(steps, text):
    assert steps["answer"]([text]) == [
        {"question": QUESTION, "answer": "", "score": 0.0, "start": 0, "end": 0}
    ]


def test_answer_batch_equals_single(steps):
    batch = steps["answer"](TEXTS)
    for text, result in zip(TEXTS, batch, strict=True):
        (single,) = steps["answer"]([text])
        assert (single["start"], single["end"]) == (result["start"], result["end"])
        assert single["score"] == pytest.approx(result["score"], abs=1e-6)


def test_answer_reads_long_text_in_overlapping_windows(steps):
    step = steps["answer"]
    texts = [BUMBLEBEE, LONG_BUMBLEBEE]
    windows = step.preprocess(texts)
    assert windows.example.count(0) == 1
    assert windows.example.count(1) > 1
    # Every context character is inside some window, so no part goes unread.
    encoding = windows.encoding
    covered: set[int] = set()
    for w, example in enumerate(windows.example):
        if example == 1:
            sequence = encoding.sequence_ids(w)
            for (start, end), seq in zip(encoding["offset_mapping"][w], sequence):
                if seq == 1:
                    covered.update(range(start, end))
    visible = {i for i, ch in enumerate(LONG_BUMBLEBEE) if not ch.isspace()}
    assert visible <= covered
    long_result = step([LONG_BUMBLEBEE])[0]
    _check_answer(LONG_BUMBLEBEE, long_result)
    assert long_result["answer"]


def test_answer_length_is_capped(tiny_models):
    step = AnswerStep(tiny_models["answer"], max_answer_len=1)
    (result,) = step([BUMBLEBEE])
    _check_answer(BUMBLEBEE, result)
    # One token, widened to its word: a single word or punctuation mark.
    assert result["answer"] and " " not in result["answer"]
