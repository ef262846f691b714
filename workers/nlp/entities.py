"""Named entities as whole words with character offsets into the original text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from workers.nlp.device import load_pretrained, revision_of
from workers.nlp.tiny import is_tiny

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class Entity(TypedDict):
    label: str
    text: str
    start: int
    end: int
    score: float


class EntitiesStep:
    """Batch-first wrapper over the ``token-classification`` pipeline.

    ``aggregation_strategy="first"`` merges word pieces into whole words (the seed's
    "simple" split "Megatron" into "Mega" + "##tron"). Texts longer than the model's
    window run in overlapping windows through the pipeline's ``stride`` option.
    """

    name = "entities"

    def __init__(
        self, model_id: str, *, batch_size: int = 16, stride: int = 128
    ) -> None:
        from transformers import AutoModelForTokenClassification, pipeline

        model, tokenizer, device = load_pretrained(
            AutoModelForTokenClassification, model_id
        )
        self.model_id = model_id
        self.revision = revision_of(model)
        self.tiny = is_tiny(model_id)
        self.batch_size = batch_size
        self.labels: frozenset[str] = frozenset(
            label.split("-", 1)[-1] for label in model.config.id2label.values()
        )
        self._tokenizer: PreTrainedTokenizerBase = tokenizer
        self._window = (
            tokenizer.model_max_length - tokenizer.num_special_tokens_to_add()
        )
        # The tokenizer refuses a stride that leaves no room for new tokens.
        self.stride = max(0, min(stride, self._window // 2))
        self._pipe = pipeline(
            "token-classification",
            model=model,
            tokenizer=tokenizer,
            device=device,
            aggregation_strategy="first",
            stride=self.stride,
        )

    def __call__(self, texts: list[str]) -> list[list[Entity]]:
        if not texts:
            return []
        raw = self._pipe(list(texts), batch_size=self.batch_size)
        return self.postprocess(list(texts), raw)

    def postprocess(
        self, texts: list[str], raw: list[list[dict[str, Any]]]
    ) -> list[list[Entity]]:
        words = self._word_bounds(texts)
        results: list[list[Entity]] = []
        for text, found, bounds in zip(texts, raw, words, strict=True):
            entities: list[Entity] = []
            for item in found:
                start, end = int(item["start"]), int(item["end"])
                if bounds is not None and not (start in bounds[0] and end in bounds[1]):
                    continue
                entities.append(
                    {
                        "label": str(item["entity_group"]),
                        # The pipeline's `word` is decoded from tokens and may differ
                        # from the original (spacing, normalisation); offsets do not.
                        "text": text[start:end],
                        "start": start,
                        "end": end,
                        "score": float(item["score"]),
                    }
                )
            results.append(sorted(entities, key=lambda e: (e["start"], e["end"])))
        return results

    def _word_bounds(
        self, texts: list[str]
    ) -> list[tuple[frozenset[int], frozenset[int]] | None]:
        """Word start and end offsets for texts that need more than one window.

        A window can begin or end inside a word; the pipeline then reports the
        fragment as a word of its own. Its whole-word version comes from the
        overlapping window, so fragments are dropped. One-window texts need no check.
        """
        encoded = self._tokenizer(
            texts,
            add_special_tokens=False,
            return_offsets_mapping=True,
            verbose=False,
        )
        bounds: list[tuple[frozenset[int], frozenset[int]] | None] = []
        for i, offsets in enumerate(encoded["offset_mapping"]):
            if len(offsets) <= self._window:
                bounds.append(None)
                continue
            spans: dict[int, tuple[int, int]] = {}
            for word, (start, end) in zip(encoded.word_ids(i), offsets, strict=True):
                if word is None:
                    continue
                first, last = spans.get(word, (start, end))
                spans[word] = (min(first, start), max(last, end))
            starts = frozenset(start for start, _ in spans.values())
            ends = frozenset(end for _, end in spans.values())
            bounds.append((starts, ends))
        return bounds
