"""Which engine serves a generation model spec, and CTranslate2 behind the same
interfaces as ``workers.nlp.generation``'s transformers generators.

A Hub id or local path runs through transformers (the reference); ``ct2:<path>``
through CTranslate2, converted once next to the transformers directory;
``openai:<name>`` through an OpenAI-compatible server (base URL and key from the
environment, the name after the colon overriding ``TRIAGE_OPENAI_MODEL``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from workers.nlp.generation import (
    CausalGenerator,
    Message,
    Seq2SeqGenerator,
    TokenizerText,
    special_strings,
)
from workers.nlp.text import special_token_pattern, strip_special
from workers.nlp.tinymark import is_tiny

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


class CT2Seq2SeqGenerator(TokenizerText):
    """``Seq2SeqGenerator``'s interface over CTranslate2's ``Translator``."""

    def __init__(self, source: str) -> None:
        from workers.nlp.engines import ct2, ct2_convert

        where = ct2.device()
        directory = ct2_convert.ensure_converted(
            source, ct2.default_quantization(where)
        )
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


class CT2CausalGenerator(TokenizerText):
    """``CausalGenerator``'s interface over CTranslate2's ``Generator``."""

    def __init__(self, source: str, *, chat: bool) -> None:
        from workers.nlp.engines import ct2, ct2_convert

        where = ct2.device()
        directory = ct2_convert.ensure_converted(
            source, ct2.default_quantization(where)
        )
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
