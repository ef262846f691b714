"""Whole-email evaluation of the offline heads: per-class precision/recall,
macro-F1, expected calibration error, temperature scaling.

Plain Python and torch; used by ``train.py`` (no Django).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from workers.nlp.offline.embeddings import MiniLMEncoder
    from workers.nlp.offline.head_files import Head

# Temperatures tried when calibrating (logits / T); NLL picks one.
TEMPERATURES: tuple[float, ...] = tuple(round(0.2 * 1.06**k, 4) for k in range(80))
ECE_BINS = 10


def expected_calibration_error(
    probs: Sequence[Sequence[float]], gold: Sequence[int], bins: int = ECE_BINS
) -> float:
    """ECE: the gap between confidence (top probability) and accuracy, averaged
    over equal-width confidence bins, weighted by how many predictions fall in each."""
    if not gold:
        return 0.0
    totals = [[0, 0.0, 0.0] for _ in range(bins)]  # n, confidence sum, correct
    for row, g in zip(probs, gold, strict=True):
        best = max(range(len(row)), key=row.__getitem__)
        confidence = float(row[best])
        b = min(int(confidence * bins), bins - 1)
        totals[b][0] += 1
        totals[b][1] += confidence
        totals[b][2] += float(best == g)
    n = len(gold)
    return round(sum(abs(c - k) for _, c, k in totals) / n, 4)


def fit_temperature(logits: torch.Tensor, gold: Sequence[int]) -> float:
    """The temperature (from TEMPERATURES) with the lowest negative log-likelihood."""
    import torch

    if not gold:
        return 1.0
    y = torch.tensor(list(gold))
    best, best_nll = 1.0, float("inf")
    for t in TEMPERATURES:
        nll = float(torch.nn.functional.cross_entropy(logits / t, y))
        if nll < best_nll:
            best, best_nll = t, nll
    return best


def email_metrics(
    labels: Sequence[str], probs: Sequence[Sequence[float]], gold: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1 and ECE of email-level
    probabilities."""
    index = {label: i for i, label in enumerate(labels)}
    pred = [labels[max(range(len(r)), key=r.__getitem__)] for r in probs]
    confusion, per_class, correct, f1s = _classification(labels, gold, pred)
    return {
        "accuracy": round(correct / len(gold), 4) if gold else None,
        "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else None,
        "ece": expected_calibration_error(probs, [index[g] for g in gold]),
        "n": len(gold),
        "labels": list(labels),
        "confusion": confusion,
        "per_class": per_class,
    }


def sentence_head_probs(
    head: Head, encoder: Any, texts: list[str]
) -> list[list[float]]:
    """The first heads' email reading: per-sentence probabilities aggregated."""
    from workers.nlp.offline.aggregate import aggregate_intent, aggregate_sentiment
    from workers.nlp.offline.sentences import split_sentences

    out = []
    for text in texts:
        sentences = [s.text for s in split_sentences(text)] or [text]
        rows = head.predict_proba(
            encoder.encode(sentences, layers=head.layers)
        ).tolist()
        if head.task == "sentiment":
            result = aggregate_sentiment(rows, head.labels)
            # Its score is the chosen label's; the rest shares what is left.
            rest = (1.0 - result["score"]) / (len(head.labels) - 1)
            out.append(
                [
                    result["score"] if lb == result["label"] else rest
                    for lb in head.labels
                ]
            )
        else:
            scores = aggregate_intent(rows, head.labels)["scores"]
            out.append([scores[label] for label in head.labels])
    return out


def cross_fitted_probs(logits: torch.Tensor, gold: Sequence[int]) -> list[list[float]]:
    """Each half's probabilities with the temperature fitted on the other half."""
    halves = [list(range(0, len(gold), 2)), list(range(1, len(gold), 2))]
    probs: list[list[float]] = [[] for _ in gold]
    for fit, apply in (halves, halves[::-1]):
        t = fit_temperature(logits[fit], [gold[i] for i in fit])
        for i, row in zip(apply, (logits[apply] / t).softmax(-1).tolist(), strict=True):
            probs[i] = row
    return probs


def evaluate(head: Head, x: torch.Tensor, gold: Sequence[str]) -> dict[str, Any]:
    """Accuracy, confusion matrix (rows gold, columns predicted), per-class P/R/F1."""
    labels = list(head.labels)
    pred = [labels[i] for i in head.predict_proba(x).argmax(-1).tolist()]
    confusion, per_class, correct, _ = _classification(labels, gold, pred)
    return {
        "accuracy": round(correct / len(gold), 4) if gold else None,
        "n": len(gold),
        "labels": labels,
        "confusion": confusion,
        "per_class": per_class,
    }


def _classification(
    labels: Sequence[str], gold: Sequence[str], pred: Sequence[str]
) -> tuple[list[list[int]], dict[str, dict[str, Any]], int, list[float]]:
    """Confusion matrix (rows gold, columns predicted), per-class P/R/F1, the
    number right, and the unrounded F1 of each class that occurs (macro-F1)."""
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        confusion[index[g]][index[p]] += 1
    per_class = {}
    f1s = []
    for i, label in enumerate(labels):
        tp = confusion[i][i]
        support = sum(confusion[i])
        predicted = sum(row[i] for row in confusion)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
        if support:
            f1s.append(f1)
    correct = sum(confusion[i][i] for i in range(len(labels)))
    return confusion, per_class, correct, f1s


def format_confusion(metrics: dict[str, Any]) -> str:
    """The confusion matrix as a fixed-width table (rows gold, columns predicted)."""
    labels = metrics["labels"]
    width = max(7, *(len(label) for label in labels)) + 1
    lines = ["gold \\ predicted".ljust(width) + "".join(x.rjust(width) for x in labels)]
    for label, row in zip(labels, metrics["confusion"], strict=True):
        lines.append(label.ljust(width) + "".join(str(n).rjust(width) for n in row))
    return "\n".join(lines)


class CachedEncoder:
    """Encodes each distinct text once (sentences recur across the features)."""

    def __init__(self, encoder: MiniLMEncoder) -> None:
        self.encoder = encoder
        self.cache: dict[tuple[str, tuple[int, ...]], Any] = {}

    def encode(self, texts: list[str], *, layers: tuple[int, ...], **kw: Any) -> Any:
        import torch

        todo = sorted({t for t in texts if (t, layers) not in self.cache})
        if todo:
            done = self.encoder.encode(todo, layers=layers, **kw)
            for text, row in zip(todo, done, strict=True):
                self.cache[(text, layers)] = row
        return torch.stack([self.cache[(t, layers)] for t in texts])
