"""Extractive question answering: "what does the customer want?" as a span.

transformers 5 removed the question-answering pipeline, so this is a small
batch-first replacement over ``AutoModelForQuestionAnswering`` that decodes spans the
way the transformers 4 pipeline did (its scores stay comparable to the seed's).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workers.contract import Answer
from workers.nlp.cache import load_once
from workers.nlp.device import load_pretrained, revision_of
from workers.nlp.generation import CausalGenerator
from workers.nlp.text import DATA_NOTICE, fence
from workers.nlp.tinymark import is_tiny

if TYPE_CHECKING:
    import torch
    from transformers import BatchEncoding

QUESTION = "What does the customer want?"


@dataclass
class Windows:
    """Tokenized (question, context) windows; several per long context."""

    encoding: BatchEncoding | None
    # Index into the batch of texts for every window.
    example: list[int]


@dataclass
class Span:
    score: float
    start: int
    end: int


class AnswerStep:
    """preprocess (windows) -> forward (logits) -> postprocess (best span per text)."""

    name = "answer"

    def __init__(
        self,
        model_id: str,
        *,
        question: str = QUESTION,
        max_length: int = 384,
        stride: int = 128,
        max_answer_len: int = 30,
        batch_size: int = 16,
        align_to_words: bool = True,
    ) -> None:
        from transformers import AutoModelForQuestionAnswering

        model, tokenizer, device = load_pretrained(
            AutoModelForQuestionAnswering, model_id
        )
        self.model_id = model_id
        self.revision = revision_of(model)
        self.tiny = is_tiny(model_id)
        self.question = question
        self.max_answer_len = max_answer_len
        self.batch_size = batch_size
        self.align_to_words = align_to_words
        self._model = model
        self._tokenizer = tokenizer
        self._device = device
        self.max_length = min(max_length, tokenizer.model_max_length)
        question_len = len(tokenizer(question, add_special_tokens=False)["input_ids"])
        room = (
            self.max_length
            - question_len
            - tokenizer.num_special_tokens_to_add(pair=True)
        )
        if room < 2:
            raise ValueError(f"question too long for max_length={self.max_length}")
        # The tokenizer refuses a stride that leaves no room for new context tokens.
        self.stride = max(0, min(stride, room // 2))
        accepted = inspect.signature(model.forward).parameters
        # DistilBERT takes no token_type_ids; BERT-style QA models need them.
        self._input_names = [
            name for name in tokenizer.model_input_names if name in accepted
        ]

    def __call__(
        self, texts: list[str], *, batch_size: int | None = None
    ) -> list[Answer]:
        if not texts:
            return []
        windows = self.preprocess(texts)
        start_logits, end_logits = self.forward(windows, batch_size=batch_size)
        return self.postprocess(texts, windows, start_logits, end_logits)

    def preprocess(self, texts: list[str]) -> Windows:
        # A blank context has no span to point at: it gets the empty answer.
        todo = [i for i, text in enumerate(texts) if text.strip()]
        if not todo:
            return Windows(encoding=None, example=[])
        encoding = self._tokenizer(
            [self.question] * len(todo),
            [texts[i] for i in todo],
            truncation="only_second",
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        example = [todo[j] for j in encoding["overflow_to_sample_mapping"]]
        return Windows(encoding=encoding, example=example)

    def forward(
        self, windows: Windows, *, batch_size: int | None = None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Start and end logits per window, unpadded, float32 on the CPU."""
        import torch

        batch_size = batch_size or self.batch_size
        encoding = windows.encoding
        starts: list[torch.Tensor] = []
        ends: list[torch.Tensor] = []
        if encoding is None:
            return starts, ends
        count = len(windows.example)
        with torch.inference_mode():
            for first in range(0, count, batch_size):
                rows = range(first, min(first + batch_size, count))
                features = [
                    {name: encoding[name][w] for name in self._input_names}
                    for w in rows
                ]
                # Padding per mini-batch, not per call: sorted inputs then pad little.
                batch = self._tokenizer.pad(
                    features, padding_side="right", return_tensors="pt"
                ).to(self._device)
                output = self._model(**batch)
                for row, w in enumerate(rows):
                    length = len(encoding["input_ids"][w])
                    starts.append(output.start_logits[row, :length].float().cpu())
                    ends.append(output.end_logits[row, :length].float().cpu())
        return starts, ends

    def postprocess(
        self,
        texts: list[str],
        windows: Windows,
        start_logits: list[torch.Tensor],
        end_logits: list[torch.Tensor],
    ) -> list[Answer]:
        best: dict[int, Span] = {}
        for w, i in enumerate(windows.example):
            span = self._best_span(windows.encoding, w, start_logits[w], end_logits[w])
            if span is not None and (i not in best or span.score > best[i].score):
                best[i] = span
        results: list[Answer] = []
        for i, text in enumerate(texts):
            span = best.get(i, Span(score=0.0, start=0, end=0))
            results.append(
                {
                    "question": self.question,
                    "answer": text[span.start : span.end],
                    "score": span.score,
                    "start": span.start,
                    "end": span.end,
                }
            )
        return results

    def _best_span(
        self, encoding: Any, w: int, start: torch.Tensor, end: torch.Tensor
    ) -> Span | None:
        import torch

        is_context = torch.tensor([s == 1 for s in encoding.sequence_ids(w)])
        if not bool(is_context.any()):
            return None
        # Like the transformers 4 pipeline: softmax over the context plus [CLS] (its
        # "no answer" slot), then [CLS] is zeroed. Scores then match the seed's.
        allowed = is_context.clone()
        cls_id = self._tokenizer.cls_token_id
        input_ids = encoding["input_ids"][w]
        cls_index = input_ids.index(cls_id) if cls_id in input_ids else None
        if cls_index is not None:
            allowed[cls_index] = True
        start_p = start.masked_fill(~allowed, -10000.0).softmax(-1)
        end_p = end.masked_fill(~allowed, -10000.0).softmax(-1)
        if cls_index is not None:
            start_p[cls_index] = 0.0
            end_p[cls_index] = 0.0
        start_p = start_p * is_context
        end_p = end_p * is_context
        # Candidate (s, e) pairs: e >= s and at most max_answer_len tokens long.
        scores = torch.outer(start_p, end_p).triu().tril(self.max_answer_len - 1)
        flat = int(scores.argmax())
        s, e = divmod(flat, scores.shape[1])
        score = float(scores[s, e])
        if score <= 0.0:
            return None
        start_char, end_char = self._char_span(encoding, w, s, e)
        return Span(score=score, start=start_char, end=end_char)

    def _char_span(self, encoding: Any, w: int, s: int, e: int) -> tuple[int, int]:
        offsets = encoding["offset_mapping"][w]
        start_char, end_char = int(offsets[s][0]), int(offsets[e][1])
        if self.align_to_words:
            # Widen to whole words: "tron" alone is no answer, "Megatron" is.
            start_word = encoding.token_to_word(w, s)
            end_word = encoding.token_to_word(w, e)
            if start_word is not None and end_word is not None:
                start_char = encoding.word_to_chars(
                    w, start_word, sequence_index=1
                ).start
                end_char = encoding.word_to_chars(w, end_word, sequence_index=1).end
        return start_char, end_char


class ChatAnswerStep:
    """ "What does the customer want?" answered by an instruction model.

    Same keys as the extractive answer. A generated answer is not a span: when it
    occurs in the text (exactly, else ignoring case, after trimming quotes and
    punctuation) ``start``/``end`` point at that occurrence and ``answer`` is the
    text there; otherwise ``start`` and ``end`` are None ("not found in the
    text": nothing to highlight) and ``answer`` is the generated text. ``score`` is
    None: generation gives no span probability comparable to the extractive one.
    """

    name = "answer"

    def __init__(
        self,
        model_id: str,
        *,
        question: str = QUESTION,
        max_new_tokens: int = 32,
        batch_size: int = 16,
    ) -> None:
        self._chat = load_once(
            ("causal", model_id, True), lambda: CausalGenerator(model_id, chat=True)
        )
        self.model_id = model_id
        self.revision = self._chat.revision
        self.tiny = self._chat.tiny
        self.question = question
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size

    def __call__(
        self, texts: list[str], *, batch_size: int | None = None
    ) -> list[Answer]:
        results: list[Answer] = [
            {
                "question": self.question,
                "answer": "",
                "score": None,
                "start": None,
                "end": None,
            }
            for _ in texts
        ]
        todo = [i for i, text in enumerate(texts) if text.strip()]
        if not todo:
            return results
        empty = answer_messages("", self.question)
        overhead = self._chat.count_tokens(empty[0]["content"]) + 64
        budget = self._chat.max_tokens - self.max_new_tokens - overhead
        chats = [
            answer_messages(
                self._chat.fit(self._chat.clean(texts[i]), budget), self.question
            )
            for i in todo
        ]
        generated = self._chat.complete(
            chats,
            batch_size=batch_size or self.batch_size,
            max_new_tokens=self.max_new_tokens,
        )
        for i, answer in zip(todo, generated, strict=True):
            answer = " ".join(answer.split())
            span = locate(answer, texts[i])
            result = results[i]
            if span is None:
                result["answer"] = answer
            else:
                result["start"], result["end"] = span
                result["answer"] = texts[i][span[0] : span[1]]
        return results


_TRIM = " \t\n\"'\u201c\u201d\u201e\u00ab\u00bb\u2018\u2019.,;:!?"


def locate(answer: str, text: str) -> tuple[int, int] | None:
    """Where ``answer`` occurs in ``text``: exactly, else ignoring case, else not.

    Whitespace differences (a hard-wrapped email) are tolerated; quotes and
    punctuation around the answer are trimmed first.
    """
    needle = answer.strip(_TRIM)
    if not needle:
        return None
    words = needle.split()
    pattern = r"\s+".join(re.escape(word) for word in words)
    for flags in (0, re.IGNORECASE):
        match = re.search(pattern, text, flags)
        if match:
            return match.start(), match.end()
    return None


def answer_messages(text: str, question: str = QUESTION) -> list[dict[str, str]]:
    return [
        {
            "role": "system",
            "content": (
                "Answer the question about the customer's email with a short "
                f"phrase copied word for word from the email. {DATA_NOTICE}"
            ),
        },
        {"role": "user", "content": f"{fence(text)}\n\nQuestion: {question}"},
    ]
