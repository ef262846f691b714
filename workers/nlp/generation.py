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
from workers.nlp.tiny import is_tiny

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


class Seq2SeqGenerator:
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

    def count_tokens(self, text: str) -> int:
        encoded = self._tokenizer(text, add_special_tokens=False, verbose=False)
        return len(encoded["input_ids"])

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


class CausalGenerator:
    """``pipeline("text-generation")`` over a causal LM: plain prompts or chats."""

    def __init__(self, model_id: str, *, chat: bool) -> None:
        from transformers import AutoModelForCausalLM, pipeline

        model, tokenizer, device = load_pretrained(
            AutoModelForCausalLM, model_id, require_fast=False
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


# --- engines per model spec --------------------------------------------------------
# A generation model spec picks the engine: a Hub id or local path runs through
# transformers (the reference); "ct2:<path>" through CTranslate2, converted once
# next to the transformers directory; "openai:<name>" through an OpenAI-compatible
# server (workers.nlp.engines.openai_compat; base URL and key from the
# environment, the name after the colon overriding TRIAGE_OPENAI_MODEL).
CT2_PREFIX = "ct2:"
OPENAI_PREFIX = "openai:"


def causal_generator(model_id: str, *, chat: bool) -> Any:
    """A loaded ``CausalGenerator``-like object for ``model_id`` (see above)."""
    if model_id.startswith(OPENAI_PREFIX):
        import dataclasses

        from workers.nlp.engines.openai_compat import (
            OpenAIChat,
            OpenAIChatGenerator,
            OpenAISettings,
        )

        settings = OpenAISettings.from_env()
        name = model_id[len(OPENAI_PREFIX) :].strip()
        if name:
            settings = dataclasses.replace(settings, model=name)
        return OpenAIChatGenerator(OpenAIChat(settings))
    if model_id.startswith(CT2_PREFIX):
        return CT2CausalGenerator(model_id[len(CT2_PREFIX) :], chat=chat)
    return CausalGenerator(model_id, chat=chat)


def seq2seq_generator(model_id: str) -> Any:
    """A loaded ``Seq2SeqGenerator``-like object for ``model_id``."""
    if model_id.startswith(CT2_PREFIX):
        return CT2Seq2SeqGenerator(model_id[len(CT2_PREFIX) :])
    if model_id.startswith(OPENAI_PREFIX):
        raise ValueError(
            f"{model_id}: a server serves the chat backend; choose backend 'chat'"
        )
    return Seq2SeqGenerator(model_id)


def _generation_defaults(source: str) -> Any:
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(source)
    except OSError:
        return GenerationConfig()


class CT2Seq2SeqGenerator:
    """``Seq2SeqGenerator``'s interface over CTranslate2's ``Translator``."""

    def __init__(self, source: str) -> None:
        from workers.nlp.engines import ct2

        where = ct2.device()
        directory = ct2.ensure_converted(source, ct2.default_quantization(where))
        self._engine = ct2.CT2Seq2Seq(directory, where=where)
        tokenizer = self._engine.tokenizer
        self.model_id = f"{CT2_PREFIX}{source}"
        self.revision = self._engine.revision
        self.tiny = is_tiny(source)
        self._tokenizer = tokenizer
        self._special = special_token_pattern(special_strings(tokenizer))
        self.max_input_tokens = min(tokenizer.model_max_length, 1024)
        self.language_codes: frozenset[str] = frozenset(
            getattr(tokenizer, "supported_language_codes", None) or ()
        )
        self.generation_config = _generation_defaults(source)
        self.default_max_new_tokens: int | None = self.generation_config.max_new_tokens

    def clean(self, text: str) -> str:
        return " ".join(strip_special(text, self._special).split())

    def count_tokens(self, text: str) -> int:
        encoded = self._tokenizer(text, add_special_tokens=False, verbose=False)
        return len(encoded["input_ids"])

    def generate(
        self,
        texts: Sequence[str],
        *,
        batch_size: int,
        max_new_tokens: int | Callable[[int], int],
        **generate_kwargs: Any,
    ) -> list[str]:
        cleaned = [self.clean(text) for text in texts]
        todo = [i for i, text in enumerate(cleaned) if text]
        outputs = [""] * len(texts)
        if not todo:
            return outputs
        sources = [cleaned[i] for i in todo]
        longest = max(self.count_tokens(text) for text in sources) + 2
        limit = max_new_tokens(longest) if callable(max_new_tokens) else max_new_tokens
        generated = self._engine(
            sources,
            max_new_tokens=limit,
            beam_size=int(generate_kwargs.get("num_beams") or 1),
            max_input_tokens=self.max_input_tokens,
            max_batch_size=batch_size,
        )
        for i, text in zip(todo, generated, strict=True):
            outputs[i] = text.strip()
        return outputs


class CT2CausalGenerator:
    """``CausalGenerator``'s interface over CTranslate2's ``Generator``."""

    def __init__(self, source: str, *, chat: bool) -> None:
        from workers.nlp.engines import ct2

        where = ct2.device()
        directory = ct2.ensure_converted(source, ct2.default_quantization(where))
        self._engine = ct2.CT2Causal(directory, where=where)
        tokenizer = self._engine.tokenizer
        if chat and not tokenizer.chat_template:
            raise ValueError(
                f"{source}: the chat backend needs a tokenizer with a chat template"
            )
        self.model_id = f"{CT2_PREFIX}{source}"
        self.revision = self._engine.revision
        self.tiny = is_tiny(source)
        self.chat = chat
        self._tokenizer = tokenizer
        self._special = special_token_pattern(special_strings(tokenizer))
        self.max_tokens = min(tokenizer.model_max_length, 8192)
        self.default_max_new_tokens: int | None = _generation_defaults(
            source
        ).max_new_tokens

    def clean(self, text: str) -> str:
        return strip_special(text, self._special)

    def count_tokens(self, text: str) -> int:
        encoded = self._tokenizer(text, add_special_tokens=False, verbose=False)
        return len(encoded["input_ids"])

    def fit(self, text: str, max_tokens: int) -> str:
        if max_tokens <= 0:
            return ""
        encoded = self._tokenizer(text, add_special_tokens=False, verbose=False)[
            "input_ids"
        ]
        if len(encoded) <= max_tokens:
            return text
        return self._tokenizer.decode(encoded[:max_tokens]).rstrip() + " […]"

    def complete(
        self,
        prompts: Sequence[str] | Sequence[list[Message]],
        *,
        batch_size: int,
        max_new_tokens: int,
        **generate_kwargs: Any,
    ) -> list[str]:
        if not prompts:
            return []
        texts = [
            p
            if isinstance(p, str)
            else self._tokenizer.apply_chat_template(
                p, add_generation_prompt=True, tokenize=False
            )
            for p in prompts
        ]
        # CTranslate2 sorts the batch by length itself; max_batch_size cuts it.
        return self._engine.generate_prompts(
            texts,
            max_new_tokens=max_new_tokens,
            repetition_penalty=float(generate_kwargs.get("repetition_penalty") or 1.0),
            max_batch_size=batch_size,
        )
