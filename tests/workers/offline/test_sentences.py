from __future__ import annotations

from tests.workers.offline.conftest import BUMBLEBEE
from workers.nlp.offline.sentences import split_sentences


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def test_offsets_point_into_the_original():
    text = "  Hello,\n\nmy order is late!  Where is it?\nThanks,\nAnna  "
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Hello,",
        "my order is late!",
        "Where is it?",
        "Thanks,\nAnna",
    ]
    for s in sentences:
        assert text[s.start : s.end] == s.text


def test_bumblebee_has_seven_sentences():
    found = texts(BUMBLEBEE)
    assert len(found) == 7
    assert found[3] == (
        "To resolve the issue, I demand an exchange of Megatron for the Optimus "
        "Prime figure I ordered."
    )
    assert found[-1] == "Sincerely, Bumblebee."


def test_abbreviations_initials_and_decimals_do_not_split():
    assert texts("Please ask Dr. Smith, e.g. by phone. I paid 19.99 EUR.") == [
        "Please ask Dr. Smith, e.g. by phone.",
        "I paid 19.99 EUR.",
    ]
    assert texts("J. Doe wrote at 5 p.m. yesterday. ok") == [
        "J. Doe wrote at 5 p.m. yesterday.",
        "ok",
    ]


def test_hard_wrapped_lines_stay_one_sentence_but_lowercase_starts_split():
    text = "three days have passed and I still have not received\nthe label. send it"
    assert texts(text) == [
        "three days have passed and I still have not received\nthe label.",
        "send it",
    ]


def test_blank_and_capped():
    assert split_sentences("") == []
    assert split_sentences(" \n\n ") == []
    assert len(split_sentences("Yes. " * 200, limit=5)) == 5
