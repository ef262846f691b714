"""Train the sentiment and intent heads: plain (text, label) examples in, files out.

No Django here: ``manage.py train_heads`` reads agents' labels from the database
and hands them over as plain lists.

The head is a multinomial logistic regression fitted in torch (full-batch L-BFGS,
class-balanced loss, L2 on the weights). scikit-learn would do the same in one line
but is a 50 MB dependency (plus scipy) for a 20-line fit torch already covers. The
L2 strength is picked by cross-validation on the training split only: the eval
split is never seen before the final evaluation.

The heads read whole emails (``features.email_features``), trained on the sentences
(each a one-sentence email) plus ``support_emails.jsonl``; they are evaluated on
whole emails written apart (``support_emails_eval.jsonl``) against the first,
sentence-level heads, and temperature-scaled on them (``evaluate.py``).
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
from workers.nlp.offline.evaluate import (
    CachedEncoder,
    cross_fitted_probs,
    email_metrics,
    evaluate,
    fit_temperature,
    sentence_head_probs,
)
from workers.nlp.offline.head_files import (
    EMAIL_DATA,
    EVAL_EMAILS,
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


@dataclass(frozen=True)
class EvalEmail:
    """One evaluation email as the models read it (quotes cut, translated)."""

    text: str
    sentiment: str
    intent: str
    language: str = "en"


@dataclass
class TrainResult:
    task: str
    head: Head
    path: Path
    metrics: dict[str, Any]
    l2: float
    n_train: int
    label_counts: dict[str, int] = field(default_factory=dict)
    # Extra (ticket) examples left out because their text is in the eval split.
    extra_in_eval: int = 0


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


def load_emails(path: str | Path) -> list[dict[str, str]]:
    """Rows of a labelled whole-email JSONL (same checks, plus ``language``)."""
    rows = load_labelled(path)
    for row in rows:
        row.setdefault("language", "en")
    return rows


def default_eval_emails(path: str | Path = EVAL_EMAILS) -> list[EvalEmail]:
    """The English evaluation emails as written (``manage.py train_heads`` also
    cuts quoted history and translates the others where it can)."""
    if not Path(path).is_file():
        return []
    return [
        EvalEmail(row["text"], row["sentiment"], row["intent"], "en")
        for row in load_emails(path)
        if row["language"] == "en"
    ]


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


def _features(encoder: Any, texts: list[str]) -> torch.Tensor:
    from workers.nlp.offline.features import email_features

    return email_features(texts, encoder, HEAD_LAYERS)


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


def without_eval_texts(
    extra: Sequence[Example], eval_: Sequence[Example]
) -> tuple[list[Example], int]:
    """``extra`` minus every example whose text is, or contains, an eval text
    (case and whitespace ignored), and how many were dropped.

    Agents label whole emails, the eval split is sentences: an email that is or
    quotes an eval sentence would put that sentence into training and inflate the
    eval accuracy. Only extra examples are checked: the shipped set's texts are
    unique (tests/workers/offline/test_data.py), so its splits are disjoint.
    """
    held_out = {_normalised(e.text) for e in eval_}
    kept = [
        e
        for e in extra
        if not any(sentence in _normalised(e.text) for sentence in held_out)
    ]
    return kept, len(extra) - len(kept)


def train_heads(
    labelled_path: str | Path | None = LABELLED_DATA,
    heads_dir: str | Path | None = None,
    *,
    extra: dict[str, list[Example]] | None = None,
    encoder: MiniLMEncoder | None = None,
    progress: Callable[[int], ProgressBar] | None = None,
    tasks: Sequence[str] = TASKS,
    emails_path: str | Path | None = EMAIL_DATA,
    eval_emails: Sequence[EvalEmail] = (),
) -> dict[str, TrainResult]:
    """Train each head on the labelled sentences and emails plus ``extra``.

    ``labelled_path=None`` trains on ``extra`` alone. Metrics: on the sentences'
    eval split when there is one, and on ``eval_emails`` (whole emails, as the
    models read them) against the first, sentence-level heads; the temperature is
    fitted on ``eval_emails``. ``progress(total)`` returns a bar (tqdm).
    """
    heads_dir = Path(heads_dir) if heads_dir else default_heads_dir()
    extra = extra or {}
    rows = load_labelled(labelled_path) if labelled_path else []
    email_rows = (
        load_emails(emails_path)
        if labelled_path and emails_path and Path(emails_path).is_file()
        else []
    )
    sources = [Path(p).name for p in (labelled_path, emails_path) if p and rows]
    cached = CachedEncoder(encoder or get_encoder())
    bar = progress(len(tasks)) if progress else None
    results: dict[str, TrainResult] = {}
    try:
        for task in tasks:
            sentences = examples(rows, task, "train")
            eval_ = examples(rows, task, "eval")
            added, in_eval = without_eval_texts(extra.get(task, []), eval_)
            train = sentences + examples(email_rows, task, "train") + added
            if not train:
                raise ValueError(f"no training examples for the {task} head")
            n_extra = len(added)
            results[task] = _train_one(
                task,
                train,
                eval_,
                sentences=sentences,
                eval_emails=eval_emails,
                encoder=cached,
                heads_dir=heads_dir,
                trained_on=" + ".join(
                    [*sources, *([f"{n_extra} ticket labels"] if n_extra else [])]
                ),
            )
            results[task].extra_in_eval = in_eval
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return results


def _train_one(
    task: str,
    train: list[Example],
    eval_: list[Example],
    *,
    sentences: list[Example],
    eval_emails: Sequence[EvalEmail],
    encoder: CachedEncoder,
    heads_dir: Path,
    trained_on: str,
) -> TrainResult:
    import torch

    from workers.nlp.offline.features import POOLING

    labels = task_labels(task)
    x = _features(encoder, [e.text for e in train])
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
        pooling=POOLING,
    )
    metrics: dict[str, Any] = {"l2": l2, "n_train": len(train)}
    if eval_:
        x_eval = _features(encoder, [e.text for e in eval_])
        metrics["eval"] = evaluate(head, x_eval, [e.label for e in eval_])
    head.metrics = metrics
    if eval_emails:
        metrics["emails"] = _evaluate_emails(
            head, task, eval_emails, sentences=sentences, encoder=encoder
        )
        head.temperature = metrics["emails"]["temperature"]
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


def _evaluate_emails(
    head: Head,
    task: str,
    emails: Sequence[EvalEmail],
    *,
    sentences: list[Example],
    encoder: CachedEncoder,
) -> dict[str, Any]:
    """Before (the sentence-level head and its aggregation, trained on the
    sentences alone), after (this head, T=1) and calibrated (cross-fitted T), on
    all evaluation emails and on the English ones; and the temperature fitted on
    all of them."""
    import torch

    labels = head.labels
    gold_labels = [str(normalise_label(task, getattr(e, task))) for e in emails]
    gold = [labels.index(g) for g in gold_labels]
    texts = [e.text for e in emails]
    x_sent = encoder.encode([e.text for e in sentences], layers=HEAD_LAYERS)
    y_sent = torch.tensor([labels.index(e.label) for e in sentences])
    # The first heads' L2 was cross-validated on the same sentences; the new head's
    # choice (same grid) stands in for it, which saves a cross-validation here.
    l2 = float(head.metrics.get("l2") or L2_GRID[1])
    w, b = fit_logistic_regression(x_sent, y_sent, len(labels), l2=l2)
    before_head = Head(task=task, labels=labels, weight=w, bias=b)
    before = sentence_head_probs(before_head, encoder, texts)
    logits = head.logits(_features(encoder, texts))
    after = logits.softmax(-1).tolist()
    calibrated = cross_fitted_probs(logits, gold)
    english = [i for i, e in enumerate(emails) if e.language == "en"]
    out: dict[str, Any] = {"temperature": fit_temperature(logits, gold)}
    for name, subset in (("all", list(range(len(emails)))), ("en", english)):
        g = [gold_labels[i] for i in subset]
        out[name] = {
            "before": email_metrics(labels, [before[i] for i in subset], g),
            "after": email_metrics(labels, [after[i] for i in subset], g),
            "calibrated": email_metrics(labels, [calibrated[i] for i in subset], g),
        }
    return out
