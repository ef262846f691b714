"""Sentiment and intent as logistic-regression heads on MiniLM sentence embeddings.

The transfer-learning recipe of *NLP with Transformers* ch. 1 on what ships offline:
a pretrained body (MiniLM, frozen) and a small head trained on the project's own
labelled sentences (``data/labelled``) or on agents' corrections (``train_heads``).

A head reads whole emails (``features.email_features``: the mean of the sentences'
embeddings and VADER lexicon scores) and its scores are temperature-scaled, so a
score of 1.00 is rare and means something. The first heads read one sentence at a
time and the step aggregated their predictions (``aggregate_*``); such a head file
still works that way.
A head is one safetensors file: weight and bias tensors, and in its metadata the
labels, the embedding model, the training-set hash and the eval metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workers.contract import Intent, Sentiment
from workers.nlp.cache import load_once as once
from workers.nlp.offline.aggregate import (
    NEGATIVE_THRESHOLD,
    OTHER_WEIGHT_FLOOR,
    aggregate_intent,
    aggregate_sentiment,
)
from workers.nlp.offline.embeddings import PACKAGE, MiniLMEncoder, get_encoder
from workers.nlp.offline.head_files import (
    HEAD_LAYERS,
    HEADS_DIR_ENV,
    INTENT_LABELS,
    LABELLED_DATA,
    REPO,
    SENTIMENT_LABELS,
    TASKS,
    Head,
    HeadMissing,
    default_heads_dir,
    head_path,
    load_head,
    save_head,
)
from workers.nlp.offline.sentences import split_sentences

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

# Re-exported: callers know these by this module.
__all__ = [
    "HEADS_DIR_ENV",
    "HEAD_LAYERS",
    "INTENT_LABELS",
    "LABELLED_DATA",
    "NEGATIVE_THRESHOLD",
    "OTHER_WEIGHT_FLOOR",
    "REPO",
    "SENTIMENT_LABELS",
    "TASKS",
    "Head",
    "HeadMissing",
    "IntentHeadStep",
    "SentimentHeadStep",
    "aggregate_intent",
    "aggregate_sentiment",
    "default_heads_dir",
    "ensure_heads",
    "get_head",
    "head_path",
    "load_head",
    "save_head",
]


def ensure_heads(heads_dir: str | Path, *, auto_train: bool = True) -> None:
    """Train both heads from the shipped labelled set when either is missing.

    So a fresh checkout (``make demo``) triages meaningfully without a separate
    training step; ``manage.py train_heads`` is still how heads are refreshed.
    """
    missing = [t for t in TASKS if not head_path(heads_dir, t).is_file()]
    if not missing:
        return
    if not auto_train or not LABELLED_DATA.is_file():
        raise HeadMissing(
            f"no {', '.join(missing)} head in {heads_dir}: run `manage.py train_heads`"
        )
    from workers.nlp.offline.train import default_eval_emails, train_heads

    logger.warning(
        "no %s head in %s: training from %s (run `manage.py train_heads` to refresh)",
        "/".join(missing),
        heads_dir,
        LABELLED_DATA,
    )
    train_heads(LABELLED_DATA, heads_dir, eval_emails=default_eval_emails())


def get_head(heads_dir: str | Path, task: str, *, auto_train: bool = True) -> Head:
    def load() -> Head:
        ensure_heads(heads_dir, auto_train=auto_train)
        return load_head(head_path(heads_dir, task))

    return once(("offline", "head", str(Path(heads_dir).resolve()), task), load)


class _HeadStep:
    """Shared: split into sentences, embed all sentences of the batch at once."""

    task = ""
    tiny = False

    def __init__(
        self,
        heads_dir: str | Path | None = None,
        *,
        encoder: MiniLMEncoder | None = None,
        auto_train: bool = True,
    ) -> None:
        self.heads_dir = Path(heads_dir) if heads_dir else default_heads_dir()
        self.head = get_head(self.heads_dir, self.task, auto_train=auto_train)
        self._encoder = encoder or get_encoder()
        self.revision = self.head.digest
        self.model_id = f"{PACKAGE} + heads/{self.task}@{self.revision}"

    def email_probs(self, texts: list[str]) -> list[list[float]]:
        """Per text, the head's calibrated probabilities (in ``head.labels``)."""
        from workers.nlp.offline.features import email_features

        features = email_features(texts, self._encoder, self.head.layers)
        return self.head.predict_proba(features).tolist()

    @property
    def reads_emails(self) -> bool:
        return self.head.pooling != "sentence"

    def sentence_probs(self, texts: list[str]) -> list[list[list[float]]]:
        """Per text, per sentence, the head's probabilities (in ``head.labels``)."""
        units: list[str] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            sentences = [s.text for s in split_sentences(text)]
            # A blank text still gets a prediction, as the transformers steps give.
            for sentence in sentences or [text]:
                units.append(sentence)
                owner.append(i)
        features = self._encoder.encode(units, layers=self.head.layers)
        probs = self.head.predict_proba(features).tolist()
        grouped: list[list[list[float]]] = [[] for _ in texts]
        for i, row in zip(owner, probs, strict=True):
            grouped[i].append(row)
        return grouped


class SentimentHeadStep(_HeadStep):
    """NEGATIVE / NEUTRAL / POSITIVE per email: ``{"label", "score"}``."""

    name = "sentiment"
    task = "sentiment"

    def __call__(
        self, texts: list[str], *, batch_size: int | None = None
    ) -> list[Sentiment]:
        # batch_size: accepted for the pipeline's calling convention; the encoder
        # batches by its own size.
        if not texts:
            return []
        labels = self.head.labels
        if self.reads_emails:
            # A blank text states nothing: NEUTRAL, as the sentence heads gave it
            # (the email features of "" are all zeros, which a head may read as
            # anything).
            results: list[Sentiment] = [
                {"label": "NEUTRAL", "score": 1.0} for _ in texts
            ]
            todo = [i for i, text in enumerate(texts) if text.strip()]
            rows = self.email_probs([texts[i] for i in todo]) if todo else []
            for i, row in zip(todo, rows, strict=True):
                best = max(range(len(labels)), key=row.__getitem__)
                results[i] = {"label": labels[best], "score": float(row[best])}
            return results
        return [aggregate_sentiment(p, labels) for p in self.sentence_probs(texts)]


class IntentHeadStep(_HeadStep):
    """One of the configured intent labels: ``{"label", "score", "scores"}``."""

    name = "intent"
    task = "intent"

    def __init__(
        self,
        heads_dir: str | Path | None = None,
        *,
        labels: Sequence[str] | None = None,
        encoder: MiniLMEncoder | None = None,
        auto_train: bool = True,
    ) -> None:
        super().__init__(heads_dir, encoder=encoder, auto_train=auto_train)
        wanted = tuple(labels) if labels else self.head.labels
        unknown = [label for label in wanted if label not in self.head.labels]
        if unknown:
            # A head can only say what it was trained on; pretending otherwise
            # would route tickets on labels it never saw.
            raise ValueError(
                f"intent head {self.revision} has no label(s) {unknown}; "
                "add labelled examples and run `manage.py train_heads`"
            )
        self.labels = wanted

    def __call__(
        self, texts: list[str], *, batch_size: int | None = None
    ) -> list[Intent]:
        """One intent per text; a blank text has none (label None, no scores), as
        the zero-shot step gives."""
        if not texts:
            return []
        keep = [self.head.labels.index(label) for label in self.labels]
        results: list[Intent] = [
            {"label": None, "score": 0.0, "scores": {}} for _ in texts
        ]
        todo = [i for i, text in enumerate(texts) if text.strip()]
        if not todo:
            return results
        if self.reads_emails:
            for i, row in zip(
                todo, self.email_probs([texts[i] for i in todo]), strict=True
            ):
                kept = [row[k] for k in keep]
                total = sum(kept) or 1.0
                scores = {
                    label: p / total for label, p in zip(self.labels, kept, strict=True)
                }
                best = max(scores, key=scores.__getitem__)
                results[i] = {"label": best, "score": scores[best], "scores": scores}
            return results
        per_text = self.sentence_probs([texts[i] for i in todo])
        for i, probs in zip(todo, per_text, strict=True):
            # Configured labels may be a subset: renormalise over them.
            rows = [[row[k] for k in keep] for row in probs]
            rows = [[p / (sum(row) or 1.0) for p in row] for row in rows]
            results[i] = aggregate_intent(rows, self.labels)
        return results
