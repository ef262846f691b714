"""Summary: BART (or any seq2seq model) through ``generate``, or a chat model.

transformers 5.3 removed the summarization pipeline; this is its batch-first
replacement. Short mail is not summarised: it is its own summary.
"""

from __future__ import annotations

from collections.abc import Sequence

from workers.contract import Summary
from workers.nlp.cache import load_once
from workers.nlp.generation import CausalGenerator, Seq2SeqGenerator
from workers.nlp.text import DATA_NOTICE, fence, language_name, word_count

BACKENDS = ("seq2seq", "chat")


class SummaryStep:
    """``__call__(texts)`` -> one :class:`Summary` per text."""

    name = "summary"

    def __init__(
        self,
        model_id: str,
        *,
        backend: str = "seq2seq",
        min_words: int = 60,
        max_new_tokens: int = 60,
        batch_size: int = 16,
        language: str = "en",
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"summary backend must be one of {BACKENDS}")
        self.backend = backend
        self.min_words = min_words
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.language = language
        if backend == "chat":
            self._chat = load_once(
                ("causal", model_id, True), lambda: CausalGenerator(model_id, chat=True)
            )
            model: Seq2SeqGenerator | CausalGenerator = self._chat
        else:
            self._seq2seq = load_once(
                ("seq2seq", model_id), lambda: Seq2SeqGenerator(model_id)
            )
            model = self._seq2seq
        self.model_id = model_id
        self.revision = model.revision
        self.tiny = model.tiny

    def __call__(self, texts: Sequence[str]) -> list[Summary]:
        results: list[Summary] = [
            {"summary": "", "skipped": True, "reason": self._skip_reason(text)}
            for text in texts
        ]
        todo = [i for i, r in enumerate(results) if r["reason"] is None]
        if not todo:
            return results
        sources = [texts[i] for i in todo]
        if self.backend == "chat":
            summaries = self._chat_summaries(sources)
        else:
            summaries = self._seq2seq.generate(
                sources,
                batch_size=self.batch_size,
                max_new_tokens=self.max_new_tokens,
                **self._length_kwargs(),
            )
        for i, summary in zip(todo, summaries, strict=True):
            results[i] = {"summary": summary.strip(), "skipped": False, "reason": None}
        return results

    def _skip_reason(self, text: str) -> str | None:
        words = word_count(text)
        if words == 0:
            return "empty text"
        if words < self.min_words:
            return f"short mail ({words} words < {self.min_words})"
        return None

    def _length_kwargs(self) -> dict[str, int]:
        # distilbart-cnn saves min_length=56; with a shorter cap, generate would be
        # asked for an impossible length.
        config = self._seq2seq.generation_config
        min_length = getattr(config, "min_length", 0) or 0
        if min_length >= self.max_new_tokens:
            return {"min_length": max(0, self.max_new_tokens // 2)}
        return {}

    def _chat_summaries(self, texts: list[str]) -> list[str]:
        empty = summary_messages("", self.language)
        overhead = self._chat.count_tokens(empty[0]["content"]) + 32
        budget = self._chat.max_tokens - self.max_new_tokens - overhead
        chats = [
            summary_messages(
                self._chat.fit(self._chat.clean(text), budget), self.language
            )
            for text in texts
        ]
        return self._chat.complete(
            chats, batch_size=self.batch_size, max_new_tokens=self.max_new_tokens
        )


def summary_messages(text: str, language: str = "en") -> list[dict[str, str]]:
    return [
        {
            "role": "system",
            "content": (
                "Summarise the customer's email in one or two sentences, in "
                f"{language_name(language)}, for a support agent. {DATA_NOTICE}"
            ),
        },
        {"role": "user", "content": fence(text)},
    ]
