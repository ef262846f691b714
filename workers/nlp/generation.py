"""Batch-first text generation: seq2seq models (Marian, BART) and causal LMs.

transformers 5.3 removed the translation, summarization and text2text pipelines, so
seq2seq models are driven through ``generate`` directly; causal LMs (plain prompts
or chat messages) go through ``pipeline("text-generation")``. Inputs are sorted by
length and cut into mini-batches here, so padding stays small whatever order the
caller passes, and results come back in the caller's order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from workers.nlp.device import load_pretrained, revision_of
from workers.nlp.text import special_token_pattern, strip_special
from workers.nlp.tinymark import is_tiny

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

Message = dict[str, str]
T = TypeVar("T")
R = TypeVar("R")


def sorted_call(
    fn: Callable[[list[T]], list[R]], items: Sequence[T], key: Callable[[T], int]
) -> list[R]:
    """``fn`` over ``items`` sorted by ``key`` (similar lengths pad less), results
    put back in the order of ``items``."""
    order = sorted(range(len(items)), key=lambda i: key(items[i]))
    results = fn([items[i] for i in order])
    if len(results) != len(items):
        raise RuntimeError(f"{len(results)} results for {len(items)} inputs")
    out: list[Any] = [None] * len(items)
    for position, index in enumerate(order):
        out[index] = results[position]
    return out


def special_strings(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    strings = list(tokenizer.all_special_tokens)
    strings.extend(
        str(token) for token in getattr(tokenizer, "added_tokens_decoder", {}).values()
    )
    return strings


class TokenizerText:
    """Counting, cutting and cleaning text with a generator's tokenizer: shared by
    the transformers generators here and the CTranslate2 ones (engines)."""

    _tokenizer: Any
    _special: Any

    def clean(self, text: str) -> str:
        """Customer text without special-token strings (``special_token_pattern``)."""
        return strip_special(text, self._special)

    def count_tokens(self, text: str) -> int:
        encoded = self._tokenizer(text, add_special_tokens=False, verbose=False)
        return len(encoded["input_ids"])

    def fit(self, text: str, max_tokens: int) -> str:
        """``text`` cut to at most ``max_tokens`` tokens (at a token boundary)."""
        if max_tokens <= 0:
            return ""
        encoded = self._tokenizer(text, add_special_tokens=False, verbose=False)[
            "input_ids"
        ]
        if len(encoded) <= max_tokens:
            return text
        return self._tokenizer.decode(encoded[:max_tokens]).rstrip() + " […]"


class Seq2SeqGenerator(TokenizerText):
    """``AutoModelForSeq2SeqLM.generate`` over a batch of source texts."""

    def __init__(self, model_id: str) -> None:
        from transformers import AutoModelForSeq2SeqLM

        # Marian ships only a sentencepiece ("slow") tokenizer; offsets are not
        # needed to generate.
        model, tokenizer, device = load_pretrained(
            AutoModelForSeq2SeqLM, model_id, require_fast=False
        )
        self.model_id = model_id
        self.revision = revision_of(model)
        self.tiny = is_tiny(model_id)
        self._model = model
        self._tokenizer = tokenizer
        self._device = device
        self._special = special_token_pattern(special_strings(tokenizer))
        self.max_input_tokens = min(tokenizer.model_max_length, 1024)
        self.language_codes: frozenset[str] = frozenset(
            getattr(tokenizer, "supported_language_codes", None) or ()
        )
        # Random tiny models never emit </s>: their saved cap bounds every call.
        self.default_max_new_tokens: int | None = model.generation_config.max_new_tokens

    @property
    def generation_config(self) -> Any:
        return self._model.generation_config

    def clean(self, text: str) -> str:
        """``text`` safe to tokenize: special-token strings typed by a customer
        removed, whitespace collapsed."""
        return " ".join(strip_special(text, self._special).split())

    def generate(
        self,
        texts: Sequence[str],
        *,
        batch_size: int,
        max_new_tokens: int | Callable[[int], int],
        **generate_kwargs: Any,
    ) -> list[str]:
        """One output per text; blank texts give "" without a model call.

        ``max_new_tokens`` may be a function of the longest input (in tokens) of a
        mini-batch: translation output grows with its input, a summary does not.
        """
        cleaned = [self.clean(text) for text in texts]
        todo = [i for i, text in enumerate(cleaned) if text]
        outputs = [""] * len(texts)
        if not todo:
            return outputs
        generated = sorted_call(
            lambda batch: self._generate_sorted(
                batch, batch_size, max_new_tokens, generate_kwargs
            ),
            [cleaned[i] for i in todo],
            key=len,
        )
        for i, text in zip(todo, generated, strict=True):
            outputs[i] = text
        return outputs

    def _generate_sorted(
        self,
        texts: list[str],
        batch_size: int,
        max_new_tokens: int | Callable[[int], int],
        generate_kwargs: dict[str, Any],
    ) -> list[str]:
        import torch

        results: list[str] = []
        with torch.inference_mode():
            for first in range(0, len(texts), batch_size):
                chunk = texts[first : first + batch_size]
                batch = self._tokenizer(
                    chunk,
                    padding=True,
                    truncation=True,
                    max_length=self.max_input_tokens,
                    return_tensors="pt",
                ).to(self._device)
                longest = int(batch["attention_mask"].sum(dim=1).max())
                limit = (
                    max_new_tokens(longest)
                    if callable(max_new_tokens)
                    else max_new_tokens
                )
                output = self._model.generate(
                    **batch, max_new_tokens=limit, **generate_kwargs
                )
                results.extend(
                    text.strip()
                    for text in self._tokenizer.batch_decode(
                        output, skip_special_tokens=True
                    )
                )
        return results


class CausalGenerator(TokenizerText):
    """``pipeline("text-generation")`` over a causal LM: plain prompts or chats."""

    def __init__(self, model_id: str, *, chat: bool) -> None:
        from transformers import AutoModelForCausalLM, pipeline

        model, tokenizer, device = load_pretrained(
            AutoModelForCausalLM, model_id, require_fast=False, generates=True
        )
        if chat and not tokenizer.chat_template:
            raise ValueError(
                f"{model_id}: the chat backend needs a tokenizer with a chat template"
            )
        if tokenizer.pad_token is None:
            # gpt2 has none; batched generation pads, and eos is the usual stand-in.
            tokenizer.pad_token = tokenizer.eos_token
        # Decoder-only models continue from the right end: pad on the left.
        tokenizer.padding_side = "left"
        self.model_id = model_id
        self.revision = revision_of(model)
        self.tiny = is_tiny(model_id)
        self.chat = chat
        self._tokenizer = tokenizer
        self._special = special_token_pattern(special_strings(tokenizer))
        self.max_tokens = min(tokenizer.model_max_length, 8192)
        self._pipe = pipeline(
            "text-generation", model=model, tokenizer=tokenizer, device=device
        )
        # Random tiny models never emit eos: their saved cap bounds every call.
        self.default_max_new_tokens: int | None = model.generation_config.max_new_tokens
        self._generate_defaults: dict[str, Any] = {
            "do_sample": False,
            "pad_token_id": tokenizer.pad_token_id,
        }

    def complete(
        self,
        prompts: Sequence[str] | Sequence[list[Message]],
        *,
        batch_size: int,
        max_new_tokens: int,
        **generate_kwargs: Any,
    ) -> list[str]:
        """The generated continuation of each prompt (a string or a chat)."""
        if not prompts:
            return []

        def size(prompt: Any) -> int:
            if isinstance(prompt, str):
                return len(prompt)
            return sum(len(message["content"]) for message in prompt)

        def run(batch: list[Any]) -> list[str]:
            outputs = self._pipe(
                batch,
                batch_size=batch_size,
                max_new_tokens=max_new_tokens,
                return_full_text=False,
                **{**self._generate_defaults, **generate_kwargs},
            )
            return [str(output[0]["generated_text"]) for output in outputs]

        return sorted_call(run, list(prompts), key=size)
