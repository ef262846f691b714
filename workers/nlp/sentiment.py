"""Sentiment: one label from the model's ``id2label`` per text."""

from __future__ import annotations

from workers.contract import Sentiment
from workers.nlp.device import load_pretrained, revision_of
from workers.nlp.tinymark import is_tiny


class SentimentStep:
    """Batch-first wrapper over the ``text-classification`` pipeline."""

    name = "sentiment"

    def __init__(self, model_id: str, *, batch_size: int = 32) -> None:
        from transformers import AutoModelForSequenceClassification, pipeline

        model, tokenizer, device = load_pretrained(
            AutoModelForSequenceClassification, model_id
        )
        self.model_id = model_id
        self.revision = revision_of(model)
        self.tiny = is_tiny(model_id)
        self.batch_size = batch_size
        self.labels: frozenset[str] = frozenset(model.config.id2label.values())
        self._pipe = pipeline(
            "text-classification", model=model, tokenizer=tokenizer, device=device
        )

    def __call__(
        self, texts: list[str], *, batch_size: int | None = None
    ) -> list[Sentiment]:
        if not texts:
            return []
        # Truncation keeps a long email classifiable; its opening carries the tone.
        outputs = self._pipe(
            list(texts), batch_size=batch_size or self.batch_size, truncation=True
        )
        return [
            {"label": str(out["label"]), "score": float(out["score"])}
            for out in outputs
        ]
