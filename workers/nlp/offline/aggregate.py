"""How the first, sentence-level heads turn sentence predictions into an email's
(kept for head files of that kind, and as the "before" of the email evaluation)."""

from __future__ import annotations

from collections.abc import Sequence

from workers.contract import Intent, Sentiment
from workers.nlp.offline.head_files import INTENT_LABELS, SENTIMENT_LABELS

# One confidently negative sentence makes the email negative (see
# aggregate_sentiment).
NEGATIVE_THRESHOLD = 0.5
# Weight floor for sentences that are all "other" (greetings, sign-offs), so an
# email made only of them still gets a distribution.
OTHER_WEIGHT_FLOOR = 0.05


def aggregate_sentiment(
    probs: Sequence[Sequence[float]], labels: Sequence[str] = SENTIMENT_LABELS
) -> Sentiment:
    """An email's sentiment from its sentences' probabilities.

    The most negative sentence decides when it is confidently negative: one
    complaint makes a complaint, whatever courtesy surrounds it ("Thanks in
    advance", a friendly greeting), and triage would rather over-flag an unhappy
    customer than average them away. Otherwise the mean over sentences decides.
    """
    if not probs:
        raise ValueError("no sentence probabilities to aggregate")
    if "NEGATIVE" in labels:
        neg = labels.index("NEGATIVE")
        worst = max(row[neg] for row in probs)
        if worst >= NEGATIVE_THRESHOLD:
            return {"label": "NEGATIVE", "score": float(worst)}
    mean = [sum(row[k] for row in probs) / len(probs) for k in range(len(labels))]
    best = max(range(len(labels)), key=mean.__getitem__)
    return {"label": labels[best], "score": float(mean[best])}


def aggregate_intent(
    probs: Sequence[Sequence[float]], labels: Sequence[str] = INTENT_LABELS
) -> Intent:
    """An email's intent: the sentences' distributions, each weighted by how much
    it is about a support matter at all (1 - P(other)).

    Greetings, sign-offs and context ("I bought a kettle last month") then barely
    count, and the request or problem sentences decide; an email made only of
    "other" sentences stays "other".
    """
    if not probs:
        raise ValueError("no sentence probabilities to aggregate")
    other = labels.index("other") if "other" in labels else None
    weights = [
        1.0 if other is None else max(1.0 - row[other], OTHER_WEIGHT_FLOOR)
        for row in probs
    ]
    total = sum(weights)
    scores = {
        label: float(sum(w * row[k] for w, row in zip(weights, probs, strict=True)))
        / total
        for k, label in enumerate(labels)
    }
    best = max(scores, key=scores.__getitem__)
    return {"label": best, "score": scores[best], "scores": scores}
