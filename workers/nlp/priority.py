"""Ticket priority from the triage results: a small, deterministic rule table.

Rules, in order (every rule that fires adds a reason; the highest level wins):

1. **urgent** — the subject or text (original or translation) contains an
   escalation term (``URGENT_TERMS``: "urgent", "lawyer", "chargeback", "legal
   action", "dringend", "avocat", ...), as a whole word or phrase, any case.
2. **high** — the intent is one of ``HIGH_INTENTS`` (damaged, wrong item, billing:
   money or goods already lost), or the sentiment is negative with a score of at
   least ``STRONG_SENTIMENT`` (0.9).
3. **low** — nothing above fired, the sentiment is positive with a score of at least
   ``STRONG_SENTIMENT`` and the intent is "other" or unknown (thanks, praise).
4. **normal** — everything else.

Sentiment labels are read by prefix ("NEG..."/"POS...", any case), so SST-2's
NEGATIVE/POSITIVE and lowercase variants work; any other label counts as neutral.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

Priority = Literal["urgent", "high", "normal", "low"]
LEVELS: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
STRONG_SENTIMENT = 0.9
HIGH_INTENTS = frozenset({"damaged", "wrong item", "billing"})
URGENT_TERMS: tuple[str, ...] = (
    # English
    "urgent",
    "urgently",
    "asap",
    "immediately",
    "lawyer",
    "attorney",
    "solicitor",
    "legal action",
    "court",
    "chargeback",
    "charge back",
    "fraud",
    "police",
    "consumer protection",
    # German
    "dringend",
    "sofort",
    "anwalt",
    "rechtsanwalt",
    "klage",
    "betrug",
    "polizei",
    "verbraucherzentrale",
    # French
    "avocat",
    "immédiatement",
    "tribunal",
    "fraude",
    "plainte",
)
_URGENT = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(term).replace(r"\ ", r"\s+") for term in URGENT_TERMS)
    + r")(?!\w)",
    re.IGNORECASE,
)


def urgent_terms(texts: Iterable[str]) -> list[str]:
    """Escalation terms found in ``texts``, lowercased, first occurrence order."""
    found: dict[str, None] = {}
    for text in texts:
        for match in _URGENT.finditer(text or ""):
            found.setdefault(" ".join(match.group().lower().split()), None)
    return list(found)


def _polarity(sentiment: Mapping[str, Any] | None) -> tuple[str | None, float]:
    if not sentiment:
        return None, 0.0
    label = str(sentiment.get("label", "")).strip().lower()
    score = float(sentiment.get("score") or 0.0)
    if label.startswith("neg"):
        return "negative", score
    if label.startswith("pos"):
        return "positive", score
    return None, score


def priority(
    *,
    intent: str | None,
    sentiment: Mapping[str, Any] | None,
    texts: Iterable[str],
) -> tuple[Priority, list[str]]:
    """``(priority, reasons)`` for one message; see the module docstring."""
    level = LEVELS.index("normal")
    reasons: list[str] = []
    terms = urgent_terms(texts)
    if terms:
        level = LEVELS.index("urgent")
        reasons.append("escalation terms: " + ", ".join(terms))
    if intent in HIGH_INTENTS:
        level = max(level, LEVELS.index("high"))
        reasons.append(f"intent: {intent}")
    polarity, score = _polarity(sentiment)
    if polarity == "negative" and score >= STRONG_SENTIMENT:
        level = max(level, LEVELS.index("high"))
        reasons.append(f"strongly negative sentiment ({score:.2f})")
    if (
        not reasons
        and polarity == "positive"
        and score >= STRONG_SENTIMENT
        and intent in (None, "other")
    ):
        level = LEVELS.index("low")
        reasons.append(f"positive sentiment ({score:.2f}) and no request")
    return LEVELS[level], reasons
