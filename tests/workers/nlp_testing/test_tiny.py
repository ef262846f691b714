"""The tiny offline models: real architectures and tokenizers, random weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file
from transformers import AutoConfig, AutoTokenizer

from workers.nlp import is_tiny
from workers.nlp_testing import tiny
from workers.nlp_testing.tiny import (
    BUILDER_VERSION,
    CONLL03_LABELS,
    MARKER,
    MNLI_LABELS,
    SPECIAL_TOKENS,
    build_tiny_models,
)

REPO = Path(__file__).resolve().parents[3]
ARCHITECTURES = {
    "sentiment": "DistilBertForSequenceClassification",
    "entities": "BertForTokenClassification",
    "answer": "DistilBertForQuestionAnswering",
    "translation": "MarianMTModel",
    "summary": "BartForConditionalGeneration",
    "intent": "BartForSequenceClassification",
    "draft": "GPT2LMHeadModel",
    "chat": "LlamaForCausalLM",
}
STEP_NAMES = set(ARCHITECTURES)
WORDPIECE_STEPS = ("sentiment", "entities", "answer")
MAX_POSITIONS = {"draft": 1024, "chat": 1024}


def test_one_complete_model_dir_per_step(tiny_models):
    assert set(tiny_models) == STEP_NAMES
    for step, path in tiny_models.items():
        path = Path(path)
        tokenizer_files = (
            ("source.spm", "target.spm", "vocab.json")
            if step == "translation"
            else ("tokenizer.json",)
        )
        for name in ("config.json", "model.safetensors", *tokenizer_files, MARKER):
            assert (path / name).is_file(), path / name
        marker = json.loads((path / MARKER).read_text())
        assert marker["tiny"] is True
        assert marker["builder_version"] == BUILDER_VERSION
        assert marker["step"] == step


def test_real_architectures_and_labels(tiny_models):
    for step, architecture in ARCHITECTURES.items():
        config = AutoConfig.from_pretrained(tiny_models[step])
        assert config.architectures == [architecture], step
        assert config.max_position_embeddings == MAX_POSITIONS.get(step, 512), step
    sentiment = AutoConfig.from_pretrained(tiny_models["sentiment"])
    assert sentiment.id2label == {0: "NEGATIVE", 1: "POSITIVE"}
    entities = AutoConfig.from_pretrained(tiny_models["entities"])
    assert tuple(entities.id2label[i] for i in range(9)) == CONLL03_LABELS
    intent = AutoConfig.from_pretrained(tiny_models["intent"])
    # zero-shot-classification finds the entailment id by this name.
    assert intent.id2label == dict(enumerate(MNLI_LABELS))
    assert intent.label2id["entailment"] == 2


def test_generation_models_save_small_greedy_generation_configs(tiny_models):
    from transformers import GenerationConfig

    for step in ("translation", "summary", "draft", "chat"):
        config = GenerationConfig.from_pretrained(tiny_models[step])
        assert config.num_beams == 1 and config.do_sample is False, step
        assert config.max_new_tokens == tiny.TINY_MAX_NEW_TOKENS, step


def test_marian_tokenizer_saves_and_reloads(tiny_models, tmp_path):
    from transformers import MarianTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_models["translation"])
    assert isinstance(tokenizer, MarianTokenizer)
    text = "Sehr geehrte Damen und Herren, ich möchte eine Erstattung."
    ids = tokenizer(text)["input_ids"]
    assert ids[-1] == tokenizer.eos_token_id
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    assert set(tokenizer.supported_language_codes) == set(tiny.MARIAN_LANGUAGE_TOKENS)
    tokenizer.save_pretrained(tmp_path)
    again = MarianTokenizer.from_pretrained(tmp_path)
    assert again(text)["input_ids"] == ids
    assert again(text_target=text)["input_ids"] == ids  # one spm for both sides


def test_byte_level_tokenizers_round_trip_any_text(tiny_models):
    text = "Grüße aus Köln! 49,90 € — ½ price? 👍 <tag>"
    for step in ("summary", "intent", "draft", "chat"):
        tokenizer = AutoTokenizer.from_pretrained(tiny_models[step])
        assert tokenizer.is_fast, step
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text, step
        assert tokenizer.pad_token is not None, step
    bart = AutoTokenizer.from_pretrained(tiny_models["intent"])
    pair = bart("premise", "hypothesis")["input_ids"]
    # BART's NLI layout: <s> a </s></s> b </s>
    assert pair[0] == bart.bos_token_id
    assert pair.count(bart.eos_token_id) == 3 and pair[-1] == bart.eos_token_id


def test_chat_model_has_a_chat_template(tiny_models):
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["chat"])
    prompt = tokenizer.apply_chat_template(
        [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert prompt == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert tokenizer.eos_token == "<|im_end|>"


def test_tokenizers_are_fast_with_specials_and_max_length(tiny_models):
    for step in WORDPIECE_STEPS:
        path = tiny_models[step]
        tokenizer = AutoTokenizer.from_pretrained(path)
        config = AutoConfig.from_pretrained(path)
        assert tokenizer.is_fast, step
        assert tokenizer.model_max_length == 512, step
        assert len(tokenizer) == config.vocab_size, step
        assert 500 < len(tokenizer) <= tiny.VOCAB_SIZE, step
        vocab = tokenizer.get_vocab()
        assert all(token in vocab for token in SPECIAL_TOKENS), step
        ids = tokenizer("Hello", "world")["input_ids"]
        assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id


def test_cased_tokenizers_keep_case_after_reload(tiny_models):
    for step in ("entities", "answer"):
        tokenizer = AutoTokenizer.from_pretrained(tiny_models[step])
        tokens = tokenizer.tokenize("Amazon Germany Bumblebee")
        assert "".join(tokens).replace("##", "") == "AmazonGermanyBumblebee", step
    uncased = AutoTokenizer.from_pretrained(tiny_models["sentiment"])
    assert "".join(uncased.tokenize("Amazon")).replace("##", "") == "amazon"


def test_is_tiny(tiny_models, tmp_path):
    assert all(is_tiny(path) for path in tiny_models.values())
    assert not is_tiny(tmp_path)
    assert not is_tiny(tmp_path / "missing")
    assert not is_tiny("distilbert/distilbert-base-uncased-finetuned-sst-2-english")
    (tmp_path / MARKER).write_text("not json")
    assert not is_tiny(tmp_path)
    (tmp_path / MARKER).write_text(json.dumps({"tiny": False, "builder_version": 1}))
    assert not is_tiny(tmp_path)


def test_current_models_are_not_rebuilt(tiny_models):
    weights = Path(tiny_models["answer"]) / "model.safetensors"
    before = weights.stat().st_mtime_ns
    dest = Path(tiny_models["answer"]).parent
    assert build_tiny_models(dest) == tiny_models
    assert weights.stat().st_mtime_ns == before


def test_build_is_reproducible_and_force_or_stale_rebuilds(tiny_models, tmp_path):
    started = time.perf_counter()
    fresh = build_tiny_models(tmp_path)
    # A few seconds at most, torch/transformers imports included (already done).
    assert time.perf_counter() - started < 30
    for step in STEP_NAMES:
        ours = load_file(Path(fresh[step]) / "model.safetensors")
        cached = load_file(Path(tiny_models[step]) / "model.safetensors")
        assert ours.keys() == cached.keys()
        assert all(ours[k].equal(cached[k]) for k in ours), step
        # Every file, tokenizers included, is byte-identical to the cached build
        # (made by another process, maybe another session).
        ours_files = sorted(p.name for p in Path(fresh[step]).iterdir())
        cached_files = sorted(p.name for p in Path(tiny_models[step]).iterdir())
        assert ours_files == cached_files, step
        for name in ours_files:
            assert (Path(fresh[step]) / name).read_bytes() == (
                Path(tiny_models[step]) / name
            ).read_bytes(), (step, name)

    marker = Path(fresh["answer"]) / MARKER
    marker.write_text(json.dumps({"tiny": True, "builder_version": -1}))
    build_tiny_models(tmp_path)
    assert json.loads(marker.read_text())["builder_version"] == BUILDER_VERSION

    weights = Path(fresh["sentiment"]) / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert build_tiny_models(tmp_path, force=True) == fresh
    assert weights.stat().st_mtime_ns != before
    # Temporary and stale directories are gone.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(STEP_NAMES)


def test_a_failed_build_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(out: Path) -> None:
        (out / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setattr(tiny, "builders", lambda: {"answer": broken})
    with pytest.raises(RuntimeError, match="disk full"):
        build_tiny_models(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cli_prints_the_mapping(tiny_models):
    dest = Path(tiny_models["answer"]).parent
    result = subprocess.run(
        [sys.executable, "-m", "workers.nlp_testing.tiny", str(dest)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == tiny_models
