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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from workers.nlp.tinymark import MARKER
from workers.nlp.tinymark import marker_version as _marker_version

if TYPE_CHECKING:
    pass

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


def builders() -> dict[str, Callable[[Path], None]]:
    """step -> the builder its spec names (``tiny_builder``), plus the instruction
    model that serves every "chat" backend."""
    from workers.nlp.registry import specs

    found: dict[str, Callable[[Path], None]] = {}
    for spec in specs():
        if spec.tiny_builder:
            found[spec.name] = _resolve(spec.tiny_builder)
    found["chat"] = _resolve("workers.nlp_testing.tiny_generators:build_chat")
    return found


def _resolve(path: str) -> Callable[[Path], None]:
    # By name: the builders import this module's constants.
    import importlib

    module, _, function = path.partition(":")
    builder: Callable[[Path], None] = getattr(importlib.import_module(module), function)
    return builder


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
