"""The files of the offline classifier heads: where they live and their format.

Shared by the heads that read them (heads.py) and the training that writes them
(train.py), so neither imports the other's module for these.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workers.nlp.intent import DEFAULT_INTENT_LABELS
from workers.nlp.offline.embeddings import PACKAGE

if TYPE_CHECKING:
    import torch

FORMAT = "triage-head/1"
SENTIMENT_LABELS: tuple[str, ...] = ("NEGATIVE", "NEUTRAL", "POSITIVE")
# The same default labels as the zero-shot intent step; a team may configure others.
INTENT_LABELS: tuple[str, ...] = DEFAULT_INTENT_LABELS
TASKS: tuple[str, ...] = ("sentiment", "intent")
# Features: the sentence embedding (last layer) and the mean of layer 4 of 6. The
# last layer is tuned for topic similarity; a middle layer keeps more of the wording
# ("finally", "nightmare") that separates a complaint from a calm question. Chosen
# by 5-fold cross-validation on the train split (sentiment 0.89 -> 0.92, intent
# 0.89 -> 0.92); the eval split played no part.
HEAD_LAYERS: tuple[int, ...] = (-1, 4)
HEADS_DIR_ENV = "TRIAGE_HEADS_DIR"
REPO = Path(__file__).resolve().parents[3]
LABELLED_DATA = REPO / "data" / "labelled" / "support_sentences.jsonl"
# Whole emails: more training data, and the evaluation set written apart from it.
EMAIL_DATA = REPO / "data" / "labelled" / "support_emails.jsonl"
EVAL_EMAILS = REPO / "data" / "labelled" / "support_emails_eval.jsonl"


class HeadMissing(FileNotFoundError):
    pass


def default_heads_dir() -> Path:
    """``TRIAGE_HEADS_DIR``, else ``$TRIAGE_VAR_DIR/models/heads``, else ``var/``.

    The same default as the Django setting, for worker code that reads no settings.
    """
    explicit = os.environ.get(HEADS_DIR_ENV)
    if explicit:
        return Path(explicit)
    var = Path(os.environ.get("TRIAGE_VAR_DIR") or REPO / "var")
    return var / "models" / "heads"


def head_path(heads_dir: str | Path, task: str) -> Path:
    return Path(heads_dir) / f"{task}.safetensors"


@dataclass
class Head:
    """A multinomial logistic regression over unit-length sentence embeddings."""

    task: str
    labels: tuple[str, ...]
    weight: torch.Tensor  # (classes, dimension)
    bias: torch.Tensor  # (classes,)
    layers: tuple[int, ...] = HEAD_LAYERS
    embedding_model: str = PACKAGE
    train_hash: str = ""
    trained_on: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    # "sentence": reads one sentence, the step aggregates (the first heads);
    # features.POOLING: reads the whole email's pooled features.
    pooling: str = "sentence"
    # Temperature scaling (fitted on the evaluation emails): logits / T.
    temperature: float = 1.0

    @property
    def digest(self) -> str:
        """Short content hash: which head produced a result, in its model id."""
        import numpy as np

        h = hashlib.sha256()
        h.update(json.dumps([self.task, list(self.labels), list(self.layers)]).encode())
        if self.pooling != "sentence":  # the first heads keep their digests
            h.update(json.dumps([self.pooling, self.temperature]).encode())
        for tensor in (self.weight, self.bias):
            h.update(np.ascontiguousarray(tensor.float().numpy()).tobytes())
        return h.hexdigest()[:12]

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return features.float() @ self.weight.T + self.bias

    def predict_proba(self, embeddings: torch.Tensor) -> torch.Tensor:
        return (self.logits(embeddings) / self.temperature).softmax(-1)


def save_head(head: Head, path: str | Path) -> Path:
    """Write atomically: a worker loading concurrently never sees half a file."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    created = head.created_at or datetime.datetime.now(datetime.UTC).isoformat(
        timespec="seconds"
    )
    metadata = {
        "format": FORMAT,
        "task": head.task,
        "labels": json.dumps(list(head.labels)),
        "embedding_model": head.embedding_model,
        "layers": json.dumps(list(head.layers)),
        "train_hash": head.train_hash,
        "trained_on": head.trained_on,
        "metrics": json.dumps(head.metrics),
        "created_at": created,
        "pooling": head.pooling,
        "temperature": repr(float(head.temperature)),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    save_file(
        {
            "weight": head.weight.float().contiguous(),
            "bias": head.bias.float().contiguous(),
        },
        str(tmp),
        metadata=metadata,
    )
    tmp.chmod(0o644)
    os.replace(tmp, path)
    return path


def load_head(path: str | Path) -> Head:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise HeadMissing(f"no classifier head at {path}: run `manage.py train_heads`")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not a triage head (format {meta.get('format')})")
        weight = f.get_tensor("weight")
        bias = f.get_tensor("bias")
    labels = tuple(json.loads(meta["labels"]))
    if weight.shape[0] != len(labels) or bias.shape != (len(labels),):
        raise ValueError(
            f"{path}: {len(labels)} labels but weight {tuple(weight.shape)}"
        )
    return Head(
        task=meta["task"],
        labels=labels,
        weight=weight,
        bias=bias,
        layers=tuple(json.loads(meta.get("layers") or "[-1]")),
        embedding_model=meta.get("embedding_model", ""),
        train_hash=meta.get("train_hash", ""),
        trained_on=meta.get("trained_on", ""),
        metrics=json.loads(meta.get("metrics") or "{}"),
        created_at=meta.get("created_at", ""),
        pooling=meta.get("pooling") or "sentence",
        temperature=float(meta.get("temperature") or 1.0),
    )
