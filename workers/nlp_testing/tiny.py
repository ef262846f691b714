"""Tiny random-weight models of the seed's architectures, built offline.

The Hub is unreachable here, so tests and demos run the real code paths
(``from_pretrained``, ``pipeline``, ``generate``, offset mapping, chat templates) on
models that have the real architectures and tokenizer types but only a few thousand
random parameters. Their outputs are meaningless; only their shapes are worth
checking.

Per step: sentiment DistilBertForSequenceClassification and entities
BertForTokenClassification (WordPiece, uncased / cased), answer
DistilBertForQuestionAnswering (WordPiece, cased), translation MarianMTModel
(sentencepiece unigram, MarianTokenizer), summary BartForConditionalGeneration and
intent BartForSequenceClassification with MNLI labels (byte-level BPE), draft
GPT2LMHeadModel (byte-level BPE) and chat LlamaForCausalLM (byte-level BPE with a
ChatML template). Every tokenizer is trained here, deterministically, so two builds
are byte-identical.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workers.nlp.tinymark import MARKER
from workers.nlp.tinymark import marker_version as _marker_version

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

# Bump whenever a builder changes, so stale cached models are rebuilt.
BUILDER_VERSION = 4
SEED = 0
MAX_LENGTH = 512
# Room for a fenced email, the notes and the reply, as gpt2's 1024 positions give.
GPT2_MAX_LENGTH = 1024
VOCAB_SIZE = 2000
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
SENTIMENT_LABELS = ("NEGATIVE", "POSITIVE")
# bart-large-mnli's order; zero-shot-classification looks for the "entailment" id.
MNLI_LABELS = ("contradiction", "neutral", "entailment")
# Order matters for the BART vocabulary: <s>=0, <pad>=1, </s>=2, as in bart-base.
BART_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "pad_token": "<pad>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "mask_token": "<mask>",
    "sep_token": "</s>",
    "cls_token": "<s>",
}
CHAT_SPECIAL_TOKENS = {
    "eos_token": "<|im_end|>",
    "pad_token": "<|endoftext|>",
    "unk_token": "<|endoftext|>",
}
BPE_VOCAB_SIZE = 1000
SPM_VOCAB_SIZE = 800
# Marian's multilingual models pick the output language by a ">>xx<<" token; the
# tiny one knows a few, so that code path runs too.
MARIAN_LANGUAGE_TOKENS = (">>de<<", ">>en<<", ">>fr<<")
# Random weights never stop on their own: every generation runs to its cap, so the
# caps saved with the models stay small.
TINY_MAX_NEW_TOKENS = 16
TINY_MIN_NEW_TOKENS = 4
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{{ message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
CONLL03_LABELS = (
    "O",
    "B-MISC",
    "I-MISC",
    "B-PER",
    "I-PER",
    "B-ORG",
    "I-ORG",
    "B-LOC",
    "I-LOC",
)

BUMBLEBEE = (
    "Dear Amazon, last week I ordered an Optimus Prime action figure from your "
    "online store in Germany. Unfortunately, when I opened the package, I discovered "
    "to my horror that I had been sent an action figure of Megatron instead! As a "
    "lifelong enemy of the Decepticons, I hope you can understand my dilemma. To "
    "resolve the issue, I demand an exchange of Megatron for the Optimus Prime figure "
    "I ordered. Enclosed are copies of my records concerning this purchase. I expect "
    "to hear from you soon. Sincerely, Bumblebee."
)

CORPUS: tuple[str, ...] = (
    BUMBLEBEE,
    "Hello, my order #48213 arrived two weeks late and the box was damaged.",
    "I was charged twice for the same subscription this month. Please refund the "
    "duplicate payment of 19.99 EUR to my credit card.",
    "The headphones stopped working after three days. I would like a replacement "
    "or my money back.",
    "Where is my parcel? The tracking number has not been updated since Monday.",
    "Please cancel my account and delete my personal data.",
    "Your invoice lists a shipping fee although delivery was supposed to be free.",
    "Thank you for the quick help, the new charger works perfectly!",
    "I never received the confirmation email for my booking in Paris.",
    "Can you change the delivery address to 12 Baker Street, London?",
    "The discount code SUMMER20 is not accepted at checkout.",
    "Sehr geehrte Damen und Herren, meine Bestellung ist immer noch nicht "
    "angekommen, obwohl sie für Dienstag angekündigt war.",
    "Ich möchte den Artikel zurückgeben und bitte um Erstattung des Kaufpreises.",
    "Die Rechnung ist falsch: Mir wurden 49,90 Euro statt 39,90 Euro berechnet.",
    "Das Paket wurde beschädigt geliefert, die Kaffeemaschine funktioniert nicht.",
    "Bitte kündigen Sie mein Abonnement zum Monatsende. Mit freundlichen Grüßen, "
    "Jürgen Müller aus München.",
    "Bonjour, ma commande n'est toujours pas arrivée après trois semaines.",
    "Je souhaite être remboursé, le produit reçu ne correspond pas à la description.",
    "On m'a facturé deux fois la livraison, merci de corriger la facture.",
    "Le colis est arrivé ouvert et il manquait un des deux écouteurs.",
    "Merci de résilier mon contrat. Cordialement, Élodie Dupont, Lyon.",
    "Customer service never answered my three emails about the broken laptop from "
    "Berlin, and I am very disappointed.",
    "My package was delivered to the wrong address in Manchester; the courier left "
    "it outside in the rain.",
    "Why did my monthly bill increase from 29 to 45 dollars without any notice?",
    "I returned the jacket on 3 March but still have not received my refund.",
    "Warum wurde meine Lieferung storniert? Ich habe bereits per PayPal bezahlt.",
    "Der Kundendienst in Hamburg hat mir eine Gutschrift versprochen, die nie kam.",
    "La facture de février indique un montant erroné, veuillez me renvoyer une "
    "facture corrigée.",
    "Le livreur n'est jamais venu et personne ne répond au téléphone à Marseille.",
)

# Every letter (and its "##" continuation) is in the vocabulary, so unseen
# Latin-script words split into pieces instead of collapsing into [UNK].
ALPHABET = tuple(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "äöüßÄÖÜéèêëàâçîïôœùûÉÈÀÇ€$£%&@#.,;:!?'\"()[]{}-_/+*=<>"
)


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


def builders() -> dict[str, Callable[[Path], None]]:
    """step -> the builder its spec names (``tiny_builder``), plus the instruction
    model that serves every "chat" backend."""
    import importlib

    from workers.nlp.registry import specs

    found: dict[str, Callable[[Path], None]] = {}
    for spec in specs():
        if spec.tiny_builder:
            module, _, function = spec.tiny_builder.partition(":")
            found[spec.name] = getattr(importlib.import_module(module), function)
    found["chat"] = build_chat
    return found


def build_tiny_models(dest: Path, *, force: bool = False) -> dict[str, str]:
    """Write one tiny model per step under ``dest``; return step -> model dir.

    A step whose directory already carries a marker of the current builder version
    is left alone unless ``force`` is set, so repeated test sessions are cheap.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    for step, builder in builders().items():
        final = dest / step
        if force or _marker_version(final) != BUILDER_VERSION:
            _build_step(step, builder, final)
        paths[step] = str(final)
    return paths


def _build_step(step: str, builder: Callable[[Path], None], final: Path) -> None:
    import torch

    started = time.perf_counter()
    # Built beside the target and renamed into place, so readers never see a
    # half-written model even if this process dies mid-build.
    tmp = Path(tempfile.mkdtemp(prefix=f".{step}-", dir=final.parent))
    try:
        torch.manual_seed(SEED)
        builder(tmp)
        marker = {"tiny": True, "builder_version": BUILDER_VERSION, "step": step}
        (tmp / MARKER).write_text(json.dumps(marker), encoding="utf-8")
        # mkdtemp makes the dir 0700 and the weights come out 0600; a worker running
        # as another user must still read them.
        tmp.chmod(0o755)
        for path in tmp.iterdir():
            path.chmod(0o644)
        if final.exists():
            stale = final.with_name(f".{step}-stale-{os.getpid()}-{time.time_ns()}")
            # Another builder may have moved it away already.
            with contextlib.suppress(FileNotFoundError):
                final.rename(stale)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            tmp.rename(final)
        except OSError:
            # A concurrent builder (e.g. another pytest-xdist worker) got there
            # first; its result is as good as ours.
            if _marker_version(final) != BUILDER_VERSION:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info(
        "built tiny %s model in %s (%.2fs)",
        step,
        final,
        time.perf_counter() - started,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workers.nlp_testing.tiny",
        description="Build tiny random-weight models (offline) and print their paths.",
    )
    parser.add_argument("dest", type=Path, help="directory to write the models into")
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    paths = build_tiny_models(args.dest, force=args.force)
    print(json.dumps(paths, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
