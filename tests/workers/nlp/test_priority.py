"""The priority rule table."""

from __future__ import annotations

import pytest

from workers.nlp.priority import LEVELS, URGENT_TERMS, priority, urgent_terms

NEG = {"label": "NEGATIVE", "score": 0.95}
WEAK_NEG = {"label": "NEGATIVE", "score": 0.6}
POS = {"label": "POSITIVE", "score": 0.97}


@pytest.mark.parametrize(
    ("intent", "sentiment", "text", "expected", "reasons"),
    [
        ("other", None, "Where is my parcel?", "normal", []),
        ("late delivery", WEAK_NEG, "Still waiting.", "normal", []),
        ("damaged", None, "The lamp arrived broken.", "high", ["intent: damaged"]),
        ("wrong item", None, "Wrong figure.", "high", ["intent: wrong item"]),
        ("billing", None, "Charged twice.", "high", ["intent: billing"]),
        (
            "refund",
            NEG,
            "I am furious.",
            "high",
            ["strongly negative sentiment (0.95)"],
        ),
        (
            "damaged",
            NEG,
            "Broken!",
            "high",
            ["intent: damaged", "strongly negative sentiment (0.95)"],
        ),
        (
            "refund",
            None,
            "My LAWYER will call. Chargeback filed.",
            "urgent",
            ["escalation terms: lawyer, chargeback"],
        ),
        (
            "other",
            None,
            "Es ist dringend!",
            "urgent",
            ["escalation terms: dringend"],
        ),
        (
            "billing",
            NEG,
            "I will take legal\naction.",
            "urgent",
            [
                "escalation terms: legal action",
                "intent: billing",
                "strongly negative sentiment (0.95)",
            ],
        ),
        (
            "other",
            POS,
            "Thank you, all good!",
            "low",
            ["positive sentiment (0.97) and no request"],
        ),
        (None, POS, "Thanks!", "low", ["positive sentiment (0.97) and no request"]),
        ("refund", POS, "Thanks, please refund.", "normal", []),
        ("damaged", POS, "Broken but thanks.", "high", ["intent: damaged"]),
        (None, None, "", "normal", []),
    ],
)
def test_rule_table(intent, sentiment, text, expected, reasons):
    assert priority(intent=intent, sentiment=sentiment, texts=[text]) == (
        expected,
        reasons,
    )


def test_terms_are_whole_words_in_any_text():
    assert urgent_terms(["courteous support", "insurgent", "asaps"]) == []
    assert urgent_terms(["subject: URGENT", "", "please act immediately"]) == [
        "urgent",
        "immediately",
    ]
    assert urgent_terms(["Je vais contacter un avocat."]) == ["avocat"]


def test_sentiment_labels_are_read_by_prefix():
    lower = {"label": "negative", "score": 0.91}
    assert priority(intent=None, sentiment=lower, texts=[])[0] == "high"
    other = {"label": "LABEL_0", "score": 0.99}
    assert priority(intent=None, sentiment=other, texts=[])[0] == "normal"


def test_levels_and_terms_are_sane():
    assert LEVELS == ("low", "normal", "high", "urgent")
    assert len(set(URGENT_TERMS)) == len(URGENT_TERMS)
