""" "What does the customer want?" and a summary by MiniLM sentence selection.

No extractive-QA or summarisation model ships offline (DESIGN §8), but MiniLM ranks
sentences well when it compares them with statements rather than a question. The
answer is the one sentence that reads most like a support request; the summary is
the most central sentences, in their original order.
"""

from __future__ import annotations

import math
import re

from workers.contract import Answer, Summary
from workers.nlp.offline.embeddings import PACKAGE, MiniLMEncoder, get_encoder
from workers.nlp.offline.sentences import Sentence, split_sentences
from workers.nlp.text import reads_as_words

QUESTION = "What does the customer want?"
# Statements, one per kind of request the shop gets. A sentence's score is its mean
# cosine similarity to them: a query centroid, not the nearest one, so a sentence
# that merely shares a topic with one query ("I bought a kettle") does not win.
REQUEST_QUERIES: tuple[str, ...] = (
    "The customer asks for a refund, exchange or replacement.",
    "Please send me a replacement or give me my money back.",
    "I would like you to fix this problem for me.",
    "I want to exchange the item for the one I ordered.",
    "Please tell me when my order will arrive.",
    "Please help me get back into my account.",
    "Please correct the charge on my bill.",
)
# Similarity is about topic; whether a sentence asks for something is about its
# form. Context ("I have been a customer for years") otherwise outranks the actual
# request ("Can you please unlock it?") as often as not.
REQUEST_CUE = re.compile(
    r"\b(please|pls|plz|kindly|could you|can you|would you|will you|i would like|"
    r"i'd like|i want|i wish|i need|i demand|i expect|i request|requesting|i ask|"
    r"send me|give me|refund me|let me know|tell me)\b|\?",
    re.IGNORECASE,
)
CUE_BONUS = 0.15
# Softmax temperature over a text's sentence scores: ``score`` is the selected
# sentence's share, a confidence in [0, 1] like the QA step's.
TEMPERATURE = 0.05
METHOD = "minilm-sentence-selection"
# Shorter mail is its own summary.
SUMMARY_MIN_CHARS = 400
SUMMARY_MIN_SENTENCES = 4
# Greetings and sign-offs are central to nothing and never summarise.
SUMMARY_MIN_WORDS = 4


class _SelectStep:
    tiny = False

    def __init__(self, encoder: MiniLMEncoder | None = None) -> None:
        self._encoder = encoder or get_encoder()
        self.model_id = f"{METHOD} ({PACKAGE})"
        self.revision = self._encoder.revision

    def _embed_sentences(
        self, texts: list[str]
    ) -> list[tuple[list[Sentence], list[list[float]]]]:
        """Per text, its sentences and their embeddings (one encoder call)."""
        split = [split_sentences(text) for text in texts]
        flat = [s.text for sentences in split for s in sentences]
        vectors = self._encoder.encode(flat).tolist() if flat else []
        out = []
        at = 0
        for sentences in split:
            out.append((sentences, vectors[at : at + len(sentences)]))
            at += len(sentences)
        return out


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


class AnswerSelectStep(_SelectStep):
    """The request sentence as the answer span: ``answer == text[start:end]``."""

    name = "answer"

    def __init__(
        self,
        encoder: MiniLMEncoder | None = None,
        *,
        queries: tuple[str, ...] = REQUEST_QUERIES,
    ) -> None:
        super().__init__(encoder)
        self.question = QUESTION
        vectors = self._encoder.encode(list(queries))
        self._query = vectors.mean(0).tolist()

    def score_sentences(self, sentences: list[Sentence], vectors: list[list[float]]):
        return [
            _dot(vector, self._query) + (CUE_BONUS if REQUEST_CUE.search(s.text) else 0)
            for s, vector in zip(sentences, vectors, strict=True)
        ]

    def __call__(
        self, texts: list[str], *, batch_size: int | None = None
    ) -> list[Answer]:
        if not texts:
            return []
        results: list[Answer] = []
        for text, (sentences, vectors) in zip(
            texts, self._embed_sentences(list(texts)), strict=True
        ):
            # A "sentence" of base64 or MIME debris (a multipart whose boundary
            # never appears) is no request, however it embeds.
            candidates = [i for i, s in enumerate(sentences) if reads_as_words(s.text)]
            if not candidates:
                results.append(
                    {
                        "question": self.question,
                        "answer": "",
                        "score": 0.0,
                        "start": 0,
                        "end": 0,
                    }
                )
                continue
            scores = self.score_sentences(sentences, vectors)
            best = max(candidates, key=scores.__getitem__)
            results.append(
                {
                    "question": self.question,
                    "answer": text[sentences[best].start : sentences[best].end],
                    "score": _softmax_share(
                        [scores[i] for i in candidates], candidates.index(best)
                    ),
                    "start": sentences[best].start,
                    "end": sentences[best].end,
                }
            )
        return results


def _softmax_share(scores: list[float], index: int) -> float:
    top = max(scores)
    weights = [math.exp((s - top) / TEMPERATURE) for s in scores]
    return weights[index] / sum(weights)


class SummarySelectStep(_SelectStep):
    """The ``k`` most central sentences in original order; short mail is skipped."""

    name = "summary"

    def __init__(
        self,
        encoder: MiniLMEncoder | None = None,
        *,
        min_chars: int = SUMMARY_MIN_CHARS,
        min_sentences: int = SUMMARY_MIN_SENTENCES,
        max_sentences: int = 3,
    ) -> None:
        super().__init__(encoder)
        self.min_chars = min_chars
        self.min_sentences = min_sentences
        self.max_sentences = max_sentences

    def __call__(
        self, texts: list[str], *, batch_size: int | None = None
    ) -> list[Summary]:
        if not texts:
            return []
        return [
            self._summarise(text, sentences, vectors)
            for text, (sentences, vectors) in zip(
                texts, self._embed_sentences(list(texts)), strict=True
            )
        ]

    def _summarise(
        self, text: str, sentences: list[Sentence], vectors: list[list[float]]
    ) -> Summary:
        if len(text.strip()) < self.min_chars:
            return {
                "summary": "",
                "skipped": True,
                "reason": f"shorter than {self.min_chars} characters",
            }
        content = [
            i
            for i, s in enumerate(sentences)
            if len(s.text.split()) >= SUMMARY_MIN_WORDS and reads_as_words(s.text)
        ]
        if len(content) < self.min_sentences:
            return {
                "summary": "",
                "skipped": True,
                "reason": f"fewer than {self.min_sentences} sentences",
            }
        # Centrality: similarity to the mean of the content sentences, i.e. how
        # much of what the whole email says a sentence carries.
        dim = len(vectors[0])
        centre = [
            sum(vectors[i][d] for i in content) / len(content) for d in range(dim)
        ]
        ranked = sorted(content, key=lambda i: _dot(vectors[i], centre), reverse=True)
        # About a third of the email, at least 2 and at most max_sentences.
        k = max(2, min(self.max_sentences, math.ceil(len(content) / 3)))
        chosen = sorted(ranked[:k])
        return {
            # Hard-wrapped plain text: the summary reads as one paragraph.
            "summary": " ".join(" ".join(sentences[i].text.split()) for i in chosen),
            "skipped": False,
            "reason": None,
        }
