"""Tiny generative and seq2seq models (summary, intent, translation, draft, chat):
BART, Marian, GPT-2 and Llama with tokenizers trained here (see tiny.py)."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase
from workers.nlp_testing.tiny import (
    BART_SPECIAL_TOKENS,
    BPE_VOCAB_SIZE,
    CHAT_SPECIAL_TOKENS,
    CHATML_TEMPLATE,
    CORPUS,
    GPT2_MAX_LENGTH,
    MARIAN_LANGUAGE_TOKENS,
    MAX_LENGTH,
    MNLI_LABELS,
    SPM_VOCAB_SIZE,
    TINY_MAX_NEW_TOKENS,
    TINY_MIN_NEW_TOKENS,
)
from workers.nlp_testing.tiny_encoders import _labels

logger = logging.getLogger(__name__)


def _byte_level_bpe(special_tokens: tuple[str, ...], *, pair_processor: bool) -> Any:
    """A byte-level BPE (GPT-2/BART/Llama style) trained on the corpus.

    ``tokenizers``' BPE trainer breaks ties deterministically (unlike its WordPiece
    trainer), so two builds write identical files.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=BPE_VOCAB_SIZE,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS, trainer)
    if pair_processor:
        # BART's "<s> a </s></s> b </s>", which NLI pairs (zero-shot) rely on.
        bpe.post_processor = processors.RobertaProcessing(
            ("</s>", bpe.token_to_id("</s>")),
            ("<s>", bpe.token_to_id("<s>")),
            trim_offsets=True,
            add_prefix_space=False,
        )
    else:
        bpe.post_processor = processors.ByteLevel(trim_offsets=True)
    return bpe


def _bart_tokenizer() -> PreTrainedTokenizerBase:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=_byte_level_bpe(
            tuple(dict.fromkeys(BART_SPECIAL_TOKENS.values())), pair_processor=True
        ),
        model_max_length=MAX_LENGTH,
        **BART_SPECIAL_TOKENS,
    )


def _bart_config(tokenizer: PreTrainedTokenizerBase, **extra: Any) -> Any:
    from transformers import BartConfig

    return BartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=MAX_LENGTH,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_eos_token_id=tokenizer.eos_token_id,
        **extra,
    )


def _small_generation(model: Any, **extra: Any) -> None:
    # Written to generation_config.json: greedy and short, whoever loads the model.
    model.generation_config.num_beams = 1
    model.generation_config.do_sample = False
    model.generation_config.max_new_tokens = TINY_MAX_NEW_TOKENS
    # An untrained decoder often emits </s> first; a few forced tokens give the
    # tests some text to look at.
    model.generation_config.min_new_tokens = TINY_MIN_NEW_TOKENS
    for key, value in extra.items():
        setattr(model.generation_config, key, value)


def build_summary(out: Path) -> None:
    from transformers import BartForConditionalGeneration

    tokenizer = _bart_tokenizer()
    model = BartForConditionalGeneration(_bart_config(tokenizer))
    _small_generation(model)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def build_intent(out: Path) -> None:
    from transformers import BartForSequenceClassification

    tokenizer = _bart_tokenizer()
    config = _bart_config(tokenizer, **_labels(MNLI_LABELS))
    BartForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)


def build_translation(out: Path) -> None:
    import io

    import sentencepiece
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    # One unigram model over the multilingual corpus serves as source and target
    # side: the tiny model stands in for every language pair.
    spm = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS),
        model_writer=spm,
        vocab_size=SPM_VOCAB_SIZE,
        model_type="unigram",
        hard_vocab_limit=False,
        character_coverage=1.0,
        # One thread: the result must not depend on scheduling.
        num_threads=1,
        minloglevel=2,
    )
    processor = sentencepiece.SentencePieceProcessor(model_proto=spm.getvalue())
    # Marian's layout: </s> and <unk> first, the pieces, language tokens, <pad> last.
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
    for token in (*pieces, *MARIAN_LANGUAGE_TOKENS, "<pad>"):
        vocab.setdefault(token, len(vocab))
    with tempfile.TemporaryDirectory() as raw:
        for name in ("source.spm", "target.spm"):
            (Path(raw) / name).write_bytes(spm.getvalue())
        (Path(raw) / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        tokenizer = MarianTokenizer(
            source_spm=str(Path(raw) / "source.spm"),
            target_spm=str(Path(raw) / "target.spm"),
            vocab=str(Path(raw) / "vocab.json"),
            model_max_length=MAX_LENGTH,
        )
        tokenizer.save_pretrained(out)
    pad = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=MAX_LENGTH,
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
        forced_eos_token_id=0,
    )
    model = MarianMTModel(config)
    _small_generation(model, bad_words_ids=[[pad]])
    model.save_pretrained(out)


def _blank_token_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    # Random weights' argmax keeps landing on "\n" and friends, which would make
    # every tiny draft and chat answer blank; tests need some text to look at.
    return [
        i
        for i in range(len(tokenizer))
        if not tokenizer.decode([i], skip_special_tokens=True).strip()
    ]


def build_draft(out: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    eos = "<|endoftext|>"
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_byte_level_bpe((eos,), pair_processor=False),
        bos_token=eos,
        eos_token=eos,
        unk_token=eos,
        # gpt2 has no pad token; batched generation needs one, and eos is the usual.
        pad_token=eos,
        model_max_length=GPT2_MAX_LENGTH,
    )
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=32,
        n_layer=2,
        n_head=2,
        n_inner=64,
        n_positions=GPT2_MAX_LENGTH,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    _small_generation(model, suppress_tokens=_blank_token_ids(tokenizer))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def build_chat(out: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_byte_level_bpe(specials, pair_processor=False),
        additional_special_tokens=["<|im_start|>"],
        model_max_length=GPT2_MAX_LENGTH,
        **CHAT_SPECIAL_TOKENS,
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=GPT2_MAX_LENGTH,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    _small_generation(model, suppress_tokens=_blank_token_ids(tokenizer))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
