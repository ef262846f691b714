"""Train the sentiment and intent heads: plain (text, label) examples in, files out.

No Django here: ``manage.py train_heads`` reads agents' labels from the database
and hands them over as plain lists.

The head is a multinomial logistic regression fitted in torch (full-batch L-BFGS,
class-balanced loss, L2 on the weights). scikit-learn would do the same in one line
but is a 50 MB dependency (plus scipy) for a 20-line fit torch already covers. The
L2 strength is picked by cross-validation on the training split only: the eval
split is never seen before the final evaluation.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from workers.nlp.offline.embeddings import PACKAGE, MiniLMEncoder, get_encoder
from workers.nlp.offline.head_files import (
    HEAD_LAYERS,
    INTENT_LABELS,
    LABELLED_DATA,
    SENTIMENT_LABELS,
    TASKS,
    Head,
    default_heads_dir,
    head_path,
    save_head,
)

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

L2_GRID: tuple[float, ...] = (1e-5, 1e-4, 1e-3)
FOLDS = 5
SEED = 0


class ProgressBar(Protocol):
    def update(self, n: int) -> Any: ...

    def close(self) -> Any: ...


@dataclass(frozen=True)
class Example:
    text: str
    label: str


@dataclass
class TrainResult:
    task: str
    head: Head
    path: Path
    metrics: dict[str, Any]
    l2: float
    n_train: int
    label_counts: dict[str, int] = field(default_factory=dict)


def task_labels(task: str) -> tuple[str, ...]:
    if task == "sentiment":
        return SENTIMENT_LABELS
    if task == "intent":
        return INTENT_LABELS
    raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")


def normalise_label(task: str, label: str) -> str | None:
    """The head's spelling of ``label``, or None when the head has no such label."""
    label = " ".join(label.strip().split())
    label = label.upper() if task == "sentiment" else label.lower()
    return label if label in task_labels(task) else None


def load_labelled(path: str | Path = LABELLED_DATA) -> list[dict[str, str]]:
    """Rows of the labelled JSONL, checked: text, sentiment, intent, split."""
    rows: list[dict[str, str]] = []
    with Path(path).open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            for key in ("text", "sentiment", "intent", "split"):
                if not isinstance(row.get(key), str) or not row[key].strip():
                    raise ValueError(f"{path}:{number}: missing {key}")
            if row["split"] not in {"train", "eval"}:
                raise ValueError(f"{path}:{number}: split must be train or eval")
            for task in TASKS:
                if normalise_label(task, row[task]) is None:
                    raise ValueError(f"{path}:{number}: unknown {task} {row[task]!r}")
            rows.append(row)
    return rows


def examples(rows: Iterable[dict[str, str]], task: str, split: str) -> list[Example]:
    return [
        Example(text=row["text"], label=str(normalise_label(task, row[task])))
        for row in rows
        if row["split"] == split
    ]


def examples_hash(items: Sequence[Example]) -> str:
    """Order-independent hash of a training set: which data made a head."""
    h = hashlib.sha256()
    for line in sorted(json.dumps([e.text, e.label]) for e in items):
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def fit_logistic_regression(
    x: torch.Tensor, y: torch.Tensor, n_classes: int, *, l2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight (C, D) and bias (C,) minimising class-balanced cross-entropy + L2."""
    import torch

    torch.manual_seed(SEED)
    counts = torch.bincount(y, minlength=n_classes).float()
    # Balanced: a rare class weighs as much in the loss as a frequent one.
    class_weight = torch.where(
        counts > 0, len(y) / (n_classes * counts.clamp(min=1)), 0.0
    )
    weight = torch.zeros((n_classes, x.shape[1]), requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], lr=1.0, max_iter=500, line_search_fn="strong_wolfe"
    )
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weight)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = loss_fn(x @ weight.T + bias, y) + 0.5 * l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return weight.detach().clone(), bias.detach().clone()


def choose_l2(
    x: torch.Tensor, y: torch.Tensor, n_classes: int, grid: Sequence[float] = L2_GRID
) -> float:
    """The grid value with the best stratified k-fold accuracy on ``x`` alone."""
    import torch

    folds = _folds(y.tolist(), FOLDS)
    if len(set(folds)) < 2:
        return grid[len(grid) // 2]
    fold_ids = torch.tensor(folds)
    best, best_acc = grid[0], -1.0
    for l2 in grid:
        correct = 0
        for k in sorted(set(folds)):
            test = fold_ids == k
            weight, bias = fit_logistic_regression(x[~test], y[~test], n_classes, l2=l2)
            pred = (x[test] @ weight.T + bias).argmax(-1)
            correct += int((pred == y[test]).sum())
        acc = correct / len(folds)
        logger.debug("l2=%s cross-validated accuracy %.3f", l2, acc)
        # Ties go to the stronger regularisation (later in the grid).
        if acc >= best_acc:
            best, best_acc = l2, acc
    return best


def _folds(labels: Sequence[int], k: int) -> list[int]:
    # Deal each class's examples round-robin: every fold gets its share of each.
    seen: Counter[int] = Counter()
    out = []
    for label in labels:
        out.append(seen[label] % k)
        seen[label] += 1
    return out


def evaluate(head: Head, x: torch.Tensor, gold: Sequence[str]) -> dict[str, Any]:
    """Accuracy, confusion matrix (rows gold, columns predicted), per-class P/R/F1."""
    labels = list(head.labels)
    pred = [labels[i] for i in head.predict_proba(x).argmax(-1).tolist()]
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        confusion[index[g]][index[p]] += 1
    per_class = {}
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
    correct = sum(confusion[i][i] for i in range(len(labels)))
    return {
        "accuracy": round(correct / len(gold), 4) if gold else None,
        "n": len(gold),
        "labels": labels,
        "confusion": confusion,
        "per_class": per_class,
    }


def format_confusion(metrics: dict[str, Any]) -> str:
    """The confusion matrix as a fixed-width table (rows gold, columns predicted)."""
    labels = metrics["labels"]
    width = max(7, *(len(label) for label in labels)) + 1
    lines = ["gold \\ predicted".ljust(width) + "".join(x.rjust(width) for x in labels)]
    for label, row in zip(labels, metrics["confusion"], strict=True):
        lines.append(label.ljust(width) + "".join(str(n).rjust(width) for n in row))
    return "\n".join(lines)


def train_heads(
    labelled_path: str | Path | None = LABELLED_DATA,
    heads_dir: str | Path | None = None,
    *,
    extra: dict[str, list[Example]] | None = None,
    encoder: MiniLMEncoder | None = None,
    progress: Callable[[int], ProgressBar] | None = None,
    tasks: Sequence[str] = TASKS,
) -> dict[str, TrainResult]:
    """Train each head on the labelled train split plus ``extra`` examples.

    ``labelled_path=None`` trains on ``extra`` alone. Metrics are on the labelled
    eval split when there is one. ``progress(total)`` returns a bar (tqdm) that
    embedding advances.
    """
    heads_dir = Path(heads_dir) if heads_dir else default_heads_dir()
    extra = extra or {}
    rows = load_labelled(labelled_path) if labelled_path else []
    source = Path(labelled_path).name if labelled_path else ""
    plan: dict[str, tuple[list[Example], list[Example]]] = {}
    for task in tasks:
        train = examples(rows, task, "train") + list(extra.get(task, []))
        if not train:
            raise ValueError(f"no training examples for the {task} head")
        plan[task] = (train, examples(rows, task, "eval"))

    # Every distinct text is embedded once, for both heads and both splits.
    unique = sorted({e.text for pair in plan.values() for part in pair for e in part})
    encoder = encoder or get_encoder()
    bar = progress(len(unique)) if progress else None
    try:
        vectors = encoder.encode(
            unique, layers=HEAD_LAYERS, on_batch=bar.update if bar else None
        )
    finally:
        if bar is not None:
            bar.close()
    row_of = {text: i for i, text in enumerate(unique)}

    results: dict[str, TrainResult] = {}
    for task, (train, eval_) in plan.items():
        results[task] = _train_one(
            task,
            train,
            eval_,
            vectors=vectors,
            row_of=row_of,
            heads_dir=heads_dir,
            trained_on=" + ".join(
                part
                for part in (source, f"{len(extra.get(task, []))} ticket labels")
                if part and not part.startswith("0 ")
            ),
        )
    return results


def _train_one(
    task: str,
    train: list[Example],
    eval_: list[Example],
    *,
    vectors: torch.Tensor,
    row_of: dict[str, int],
    heads_dir: Path,
    trained_on: str,
) -> TrainResult:
    import torch

    labels = task_labels(task)
    x = vectors[torch.tensor([row_of[e.text] for e in train])]
    y = torch.tensor([labels.index(e.label) for e in train])
    l2 = choose_l2(x, y, len(labels))
    weight, bias = fit_logistic_regression(x, y, len(labels), l2=l2)
    head = Head(
        task=task,
        labels=labels,
        weight=weight,
        bias=bias,
        layers=HEAD_LAYERS,
        embedding_model=PACKAGE,
        train_hash=examples_hash(train),
        trained_on=trained_on,
    )
    metrics: dict[str, Any] = {"l2": l2, "n_train": len(train)}
    if eval_:
        x_eval = vectors[torch.tensor([row_of[e.text] for e in eval_])]
        metrics["eval"] = evaluate(head, x_eval, [e.label for e in eval_])
    head.metrics = metrics
    path = save_head(head, head_path(heads_dir, task))
    logger.info(
        "trained %s head %s on %s examples (l2=%s, eval accuracy %s) -> %s",
        task,
        head.digest,
        len(train),
        l2,
        metrics.get("eval", {}).get("accuracy"),
        path,
    )
    return TrainResult(
        task=task,
        head=head,
        path=path,
        metrics=metrics,
        l2=l2,
        n_train=len(train),
        label_counts=dict(Counter(e.label for e in train)),
    )
