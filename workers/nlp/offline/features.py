"""Email-level features for the offline heads: pooled sentence embeddings and a
sentiment lexicon.

Real mail is whole, mixed and often not a complaint; a head that reads one sentence
at a time and lets the most negative sentence decide calls a thank-you for an early,
flawless delivery "NEGATIVE 0.97" because "arrived" and "delivery" sit in complaints
in its training data. So the heads read the email:

- the mean of its sentences' MiniLM features (greetings and sign-offs dilute rather
  than decide; no single sentence carries the email);
- VADER's lexicon scores (``vaderSentiment``, MIT, on PyPI), computed on the whole
  text and per sentence (min, max, mean positive and negative share, share of
  clearly negative sentences): words like "perfect", "thanks", "unacceptable" carry
  their polarity whatever topic words surround them.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from workers.nlp.offline.sentences import split_sentences

if TYPE_CHECKING:
    import torch

    from workers.nlp.offline.embeddings import MiniLMEncoder

# How the lexicon columns are scaled against the unit-length embedding halves: big
# enough that an L2-regularised head can use them, chosen by cross-validation on
# the training emails (1, 2, 4: 2 best); the eval emails played no part.
LEXICON_SCALE = 2.0
LEXICON_FEATURES = 6
POOLING = "email-mean+vader"


@functools.cache
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def lexicon_features(text: str, sentences: list[str]) -> list[float]:
    """VADER on the whole text and per sentence, LEXICON_FEATURES numbers."""
    analyzer = _analyzer()
    whole = analyzer.polarity_scores(text)["compound"]
    scores = [analyzer.polarity_scores(s) for s in sentences or [text]]
    compounds = [s["compound"] for s in scores]
    n = len(scores)
    return [
        whole,
        min(compounds),
        max(compounds),
        sum(s["pos"] for s in scores) / n,
        sum(s["neg"] for s in scores) / n,
        sum(1 for c in compounds if c <= -0.3) / n,
    ]


def email_features(
    texts: list[str], encoder: MiniLMEncoder, layers: tuple[int, ...]
) -> torch.Tensor:
    """One row per text: mean sentence features ⊕ scaled lexicon features."""
    import torch

    if not texts:
        return torch.zeros((0, 0))
    units: list[str] = []
    owner: list[int] = []
    per_text: list[list[str]] = []
    for i, text in enumerate(texts):
        sentences = [s.text for s in split_sentences(text)] or [text]
        per_text.append(sentences)
        units.extend(sentences)
        owner.extend([i] * len(sentences))
    encoded = encoder.encode(units, layers=layers)
    pooled = torch.zeros((len(texts), encoded.shape[1]))
    counts = torch.zeros(len(texts))
    index = torch.tensor(owner, dtype=torch.long)
    pooled.index_add_(0, index, encoded.float())
    counts.index_add_(0, index, torch.ones(len(owner)))
    pooled = pooled / counts.clamp(min=1).unsqueeze(1)
    lexicon = torch.tensor(
        [lexicon_features(t, s) for t, s in zip(texts, per_text, strict=True)],
        dtype=torch.float32,
    )
    return torch.cat([pooled, LEXICON_SCALE * lexicon], dim=1)
