"""Tiny encoder models (sentiment, entities, answer): DistilBERT and BERT with
WordPiece vocabularies trained here (see tiny.py)."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase
from workers.nlp_testing.tiny import (
    ALPHABET,
    CONLL03_LABELS,
    CORPUS,
    MAX_LENGTH,
    SENTIMENT_LABELS,
    SPECIAL_TOKENS,
    VOCAB_SIZE,
)

logger = logging.getLogger(__name__)


def _vocabulary(*, lowercase: bool) -> dict[str, int]:
    """A WordPiece vocabulary of the corpus: its words, their pieces, every letter.

    Derived by counting instead of with ``tokenizers``' WordPieceTrainer: the trainer
    breaks ties between equally frequent merges in hash-map order, which changes
    from process to process, so two builds would disagree.
    """
    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=True,
        strip_accents=None,
        lowercase=lowercase,
    )
    splitter = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in CORPUS:
        normalized = normalizer.normalize_str(text)
        words.update(word for word, _ in splitter.pre_tokenize_str(normalized))
    pieces: Counter[str] = Counter()
    for word, count in words.items():
        for cut in range(2, len(word)):
            pieces[word[:cut]] += count
            pieces[f"##{word[cut - 1 :]}"] += count
    letters = sorted(set(normalizer.normalize_str("".join(ALPHABET))) - {" "})
    ranked = [
        *SPECIAL_TOKENS,
        *letters,
        *(f"##{letter}" for letter in letters),
        # Most frequent first, ties alphabetically, so the cut at VOCAB_SIZE is stable.
        *sorted(words, key=lambda w: (-words[w], w)),
        *sorted(pieces, key=lambda p: (-pieces[p], p)),
    ]
    vocab: dict[str, int] = {}
    for token in ranked:
        if len(vocab) == VOCAB_SIZE:
            break
        vocab.setdefault(token, len(vocab))
    return vocab


def _tokenizer(*, lowercase: bool, distil: bool) -> PreTrainedTokenizerBase:
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast, DistilBertTokenizerFast

    # strip_accents=None follows `lowercase`, as the original BERT vocabularies do.
    wordpiece = BertWordPieceTokenizer(
        vocab=_vocabulary(lowercase=lowercase),
        lowercase=lowercase,
        strip_accents=None,
        clean_text=True,
    )
    cls = DistilBertTokenizerFast if distil else BertTokenizerFast
    # do_lower_case is saved in tokenizer_config.json and rebuilds the normalizer on
    # reload: leaving it at its default (True) silently lowercases a cased model.
    return cls(
        tokenizer_object=wordpiece._tokenizer,
        do_lower_case=lowercase,
        model_max_length=MAX_LENGTH,
    )


def _labels(names: tuple[str, ...]) -> dict[str, Any]:
    return {
        "id2label": dict(enumerate(names)),
        "label2id": {name: i for i, name in enumerate(names)},
    }


def build_sentiment(out: Path) -> None:
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    tokenizer = _tokenizer(lowercase=True, distil=True)
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=32,
        hidden_dim=64,
        n_layers=2,
        n_heads=2,
        max_position_embeddings=MAX_LENGTH,
        pad_token_id=tokenizer.pad_token_id,
        **_labels(SENTIMENT_LABELS),
    )
    DistilBertForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)


def build_entities(out: Path) -> None:
    from transformers import BertConfig, BertForTokenClassification

    tokenizer = _tokenizer(lowercase=False, distil=False)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_LENGTH,
        pad_token_id=tokenizer.pad_token_id,
        **_labels(CONLL03_LABELS),
    )
    BertForTokenClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)


def build_answer(out: Path) -> None:
    from transformers import DistilBertConfig, DistilBertForQuestionAnswering

    tokenizer = _tokenizer(lowercase=False, distil=True)
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=32,
        hidden_dim=64,
        n_layers=2,
        n_heads=2,
        max_position_embeddings=MAX_LENGTH,
        pad_token_id=tokenizer.pad_token_id,
    )
    DistilBertForQuestionAnswering(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
