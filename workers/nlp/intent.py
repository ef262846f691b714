"""Intent: zero-shot classification over configurable labels (an NLI model)."""

from __future__ import annotations

from collections.abc import Sequence

from workers.contract import Intent
from workers.nlp.device import load_pretrained, revision_of
from workers.nlp.generation import special_strings
from workers.nlp.text import special_token_pattern, strip_special
from workers.nlp.tinymark import is_tiny

DEFAULT_INTENT_LABELS: tuple[str, ...] = (
    "refund",
    "exchange",
    "wrong item",
    "damaged",
    "late delivery",
    "billing",
    "account",
    "other",
)
HYPOTHESIS_TEMPLATE = "The customer writes about {}."


class IntentStep:
    """Batch-first wrapper over the ``zero-shot-classification`` pipeline.

    Each text is paired with one hypothesis per label; the pipeline batches those
    pairs across texts, and the entailment scores are normalised over the labels.
    """

    name = "intent"

    def __init__(
        self,
        model_id: str,
        *,
        labels: Sequence[str] = DEFAULT_INTENT_LABELS,
        hypothesis_template: str = HYPOTHESIS_TEMPLATE,
        batch_size: int = 16,
    ) -> None:
        from transformers import AutoModelForSequenceClassification, pipeline

        labels = tuple(
            dict.fromkeys(label.strip() for label in labels if label.strip())
        )
        if not labels:
            raise ValueError("intent needs at least one label")
        model, tokenizer, device = load_pretrained(
            AutoModelForSequenceClassification, model_id, require_fast=False
        )
        if not any(
            str(label).lower().startswith("entail") for label in model.config.label2id
        ):
            # The pipeline would silently score the last class instead.
            raise ValueError(f"{model_id}: no 'entailment' label; not an NLI model")
        self.model_id = model_id
        self.revision = revision_of(model)
        self.tiny = is_tiny(model_id)
        self.labels = labels
        self.hypothesis_template = hypothesis_template
        self.batch_size = batch_size
        # BART's classification head reads the last </s>; a "</s>" typed in the
        # email would shift it, and pairs with different counts fail the batch.
        self._special = special_token_pattern(special_strings(tokenizer))
        self._pipe = pipeline(
            "zero-shot-classification", model=model, tokenizer=tokenizer, device=device
        )

    def __call__(
        self, texts: Sequence[str], *, batch_size: int | None = None
    ) -> list[Intent]:
        """One intent per text; a blank text has none (label None, no scores)."""
        cleaned = [" ".join(strip_special(t, self._special).split()) for t in texts]
        results: list[Intent] = [
            {"label": None, "score": 0.0, "scores": {}} for _ in texts
        ]
        todo = [i for i, text in enumerate(cleaned) if text]
        if not todo:
            return results
        outputs = self._pipe(
            [cleaned[i] for i in todo],
            candidate_labels=list(self.labels),
            hypothesis_template=self.hypothesis_template,
            batch_size=batch_size or self.batch_size,
        )
        if isinstance(outputs, dict):
            outputs = [outputs]
        for i, output in zip(todo, outputs, strict=True):
            scores = {
                str(label): float(score)
                for label, score in zip(output["labels"], output["scores"], strict=True)
            }
            best = str(output["labels"][0])
            results[i] = {
                "label": best,
                "score": scores[best],
                # In the configured order, so stored results compare easily.
                "scores": {label: scores[label] for label in self.labels},
            }
        return results
