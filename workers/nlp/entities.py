"""Named entities as whole words with character offsets into the original text."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from workers.contract import Entity
from workers.nlp.device import load_pretrained, revision_of
from workers.nlp.text import in_debris
from workers.nlp.tinymark import is_tiny

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


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
        window = tokenizer.model_max_length - tokenizer.num_special_tokens_to_add()
        # The tokenizer refuses a stride that leaves no room for new tokens.
        self.stride = max(0, min(stride, window // 2))
        self._pipe = pipeline(
            "token-classification",
            model=model,
            tokenizer=tokenizer,
            device=device,
            aggregation_strategy="first",
            stride=self.stride,
            pipeline_class=_whole_word_pipeline_class(),
        )

    def __call__(
        self, texts: list[str], *, batch_size: int | None = None
    ) -> list[list[Entity]]:
        if not texts:
            return []
        raw = self._pipe(list(texts), batch_size=batch_size or self.batch_size)
        return self.postprocess(list(texts), raw)

    def postprocess(
        self, texts: list[str], raw: list[list[dict[str, Any]]]
    ) -> list[list[Entity]]:
        results: list[list[Entity]] = []
        for text, found in zip(texts, raw, strict=True):
            entities: list[Entity] = []
            for item in found:
                start, end = int(item["start"]), int(item["end"])
                if in_debris(text, start, end):
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


def word_bounds(
    tokenizer: PreTrainedTokenizerBase, text: str
) -> tuple[frozenset[int], frozenset[int]]:
    """Character offsets where the tokenizer's words start and end in ``text``."""
    encoded = tokenizer(
        text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
    )
    spans: dict[int, tuple[int, int]] = {}
    for word, (start, end) in zip(
        encoded.word_ids(), encoded["offset_mapping"], strict=True
    ):
        if word is not None:
            first, last = spans.get(word, (start, end))
            spans[word] = (min(first, start), max(last, end))
    return (
        frozenset(start for start, _ in spans.values()),
        frozenset(end for _, end in spans.values()),
    )


@functools.cache
def _whole_word_pipeline_class() -> type:
    # Defined on first use: subclassing needs transformers, which this module must
    # not import at import time.
    from transformers import TokenClassificationPipeline
    from transformers.pipelines.token_classification import AggregationStrategy

    class WholeWordTokenClassificationPipeline(TokenClassificationPipeline):
        """Drops word fragments that windowing creates, before windows are merged.

        A window can start or end inside a word; the stock pipeline then reports
        the fragment as a word, and its overlap merge (longest span wins) can let a
        fragment group evict the whole-word entities of the neighbouring window.
        The overlap (stride) guarantees each word appears whole in some window.
        """

        def postprocess(
            self,
            all_outputs: list[dict[str, Any]],
            aggregation_strategy: AggregationStrategy = AggregationStrategy.NONE,
            ignore_labels: list[str] | None = None,
        ) -> list[dict[str, Any]]:
            if len(all_outputs) == 1:
                return super().postprocess(
                    all_outputs, aggregation_strategy, ignore_labels
                )
            # Only the first window carries the text.
            sentence = all_outputs[0]["sentence"]
            starts, ends = word_bounds(self.tokenizer, sentence)
            entities: list[dict[str, Any]] = []
            for output in all_outputs:
                found = super().postprocess(
                    [{**output, "sentence": sentence}],
                    aggregation_strategy,
                    ignore_labels,
                )
                entities.extend(
                    entity
                    for entity in found
                    if entity["start"] in starts and entity["end"] in ends
                )
            return self.aggregate_overlapping_entities(entities)

    return WholeWordTokenClassificationPipeline
