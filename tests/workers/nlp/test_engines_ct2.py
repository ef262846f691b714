"""CTranslate2 engine on the tiny models: converted once, generates, serves steps.

Random tiny weights make the text meaningless; these tests check conversion (once,
reused, redone when the quantization changes), shapes and order, and that the
pipeline runs its generation steps on ``ct2:`` specs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("ctranslate2")

from tests.conftest import REPO
from workers.nlp import run_pipeline
from workers.nlp.engines import ct2, ct2_convert
from workers.nlp.engines.generators import (
    CT2CausalGenerator,
    CT2Seq2SeqGenerator,
    causal_generator,
    seq2seq_generator,
)

TEXTS = [
    "My parcel never arrived and I want a refund.",
    "Hi",
    "The figure was broken when I opened the box, please send a new one quickly.",
]


@pytest.mark.parametrize("step", ["draft", "summary", "translation"])
def test_converted_once_and_reused(tiny_models, tmp_path, step):
    source = tiny_models[step].replace("{src}-{tgt}", "de-en")
    target = tmp_path / f"{step}-ct2"
    out = ct2_convert.ensure_converted(source, "int8", target)
    assert (out / "model.bin").is_file()
    marker = json.loads((out / ct2_convert.MARKER).read_text())
    assert marker["quantization"] == "int8"
    stamp = (out / "model.bin").stat().st_mtime_ns
    # Same source and quantization: reused as it is.
    assert ct2_convert.ensure_converted(source, "int8", target) == out
    assert (out / "model.bin").stat().st_mtime_ns == stamp
    # Another quantization is another conversion.
    other = ct2_convert.ensure_converted(source, "float32", tmp_path / f"{step}-f32")
    assert (
        json.loads((other / ct2_convert.MARKER).read_text())["quantization"]
        == "float32"
    )


def test_seq2seq_generates_in_order(tiny_models):
    generator = seq2seq_generator(f"ct2:{tiny_models['summary']}")
    assert isinstance(generator, CT2Seq2SeqGenerator)
    batched = generator.generate(TEXTS, batch_size=2, max_new_tokens=6)
    single = [generator.generate([t], batch_size=1, max_new_tokens=6)[0] for t in TEXTS]
    assert len(batched) == len(TEXTS)
    assert all(isinstance(t, str) for t in batched)
    # Greedy and deterministic: batching (CTranslate2 sorts by length inside the
    # batch and restores the order) changes nothing.
    assert batched == single
    assert generator.generate(["", "  "], batch_size=2, max_new_tokens=4) == ["", ""]
    assert generator.model_id.startswith("ct2:")


def test_causal_generates_in_order(tiny_models):
    generator = causal_generator(f"ct2:{tiny_models['draft']}", chat=False)
    assert isinstance(generator, CT2CausalGenerator)
    out = generator.complete(TEXTS, batch_size=2, max_new_tokens=5)
    assert len(out) == len(TEXTS)
    assert out == [
        generator.complete([t], batch_size=1, max_new_tokens=5)[0] for t in TEXTS
    ]


def test_cpu_generator_runs_buckets_side_by_side(tiny_models, monkeypatch):
    # One replica per core, one thread each; prompts of different lengths go to
    # different calls (buckets), submitted together: the rows still come back in
    # order and as each would alone.
    monkeypatch.setenv("TRIAGE_DEVICE", "cpu")
    monkeypatch.setenv("TRIAGE_TORCH_THREADS", "2")
    monkeypatch.setattr(ct2, "MAX_SPREAD", 0)
    generator = causal_generator(f"ct2:{tiny_models['draft']}", chat=False)
    engine = generator._engine
    assert engine.engine.num_generators == 2
    lengths = {len(engine.tokenizer.encode(t, add_special_tokens=False)) for t in TEXTS}
    assert len(lengths) == len(TEXTS)  # so three calls are in flight at once
    together = engine.generate_prompts(TEXTS, max_new_tokens=6)
    alone = [engine.generate_prompts([t], max_new_tokens=6)[0] for t in TEXTS]
    assert together == alone
    monkeypatch.setenv("TRIAGE_CT2_REPLICAS", "1")
    generator = causal_generator(f"ct2:{tiny_models['draft']}", chat=False)
    assert generator._engine.engine.num_generators == 1
    monkeypatch.setenv("TRIAGE_CT2_REPLICAS", "0")
    with pytest.raises(ValueError, match="TRIAGE_CT2_REPLICAS"):
        causal_generator(f"ct2:{tiny_models['draft']}", chat=False)


def test_opening_a_model_leaves_torch_threads_alone(tiny_models):
    # CTranslate2 sets the opening thread's OpenMP thread count to its
    # intra_threads (1 per replica here). With torch loaded and used first (a
    # worker loads MiniLM before the draft engine), that call lands in torch's
    # OpenMP runtime, and every torch model of the worker ran on one core from
    # then on. It happens once torch has used that runtime (a parallel op, or
    # asking it for its thread count): a process of its own, so that nothing else
    # decides whether it has.
    script = f"""
import torch
torch.set_num_threads(2)
torch.ones(512, 512) @ torch.ones(512, 512)
assert torch.get_num_threads() == 2
from workers.nlp.engines.generators import causal_generator
generator = causal_generator("ct2:{tiny_models["draft"]}", chat=False)
assert generator._engine.engine.num_generators == 2
opened = torch.get_num_threads()
generator.complete(["My parcel never arrived."], batch_size=1, max_new_tokens=3)
print(opened, torch.get_num_threads())
"""
    env = {
        **os.environ,
        "TRIAGE_DEVICE": "cpu",
        "TRIAGE_TORCH_THREADS": "2",
        "HF_HUB_OFFLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["2", "2"]


def test_stop_rule_ends_each_row(tiny_models):
    generator = causal_generator(f"ct2:{tiny_models['draft']}", chat=False)
    engine = generator._engine
    seen: list[str] = []

    def stop(text: str) -> bool:
        seen.append(text)
        return True  # after the first token of each row

    out = engine.generate_prompts(TEXTS, max_new_tokens=20, stop=stop)
    assert len(out) == len(TEXTS)
    # One token each, then stopped: the rule was asked once per row.
    assert len(seen) == len(TEXTS)


def test_pipeline_generation_steps_on_ct2(make_config, samples, tiny_models):
    models = dict(tiny_models)
    for step in ("summary", "draft", "translation"):
        models[step] = f"ct2:{tiny_models[step]}"
    config = make_config(models=models)
    emails = list(samples.values())
    outcomes = run_pipeline(emails, config)
    for step in ("summary", "draft", "translation"):
        errors = [o[step]["error"] for o in outcomes if o[step]["error"]]
        assert not errors, errors
    drafts = [o["draft"] for o in outcomes]
    assert all(d["model"].startswith("ct2:") for d in drafts)
    assert all(d["result"]["text"] for d in drafts)
    translated = [
        o["translation"] for o in outcomes if not o["translation"]["result"]["skipped"]
    ]
    assert translated and all(t["model"].startswith("ct2:") for t in translated)


def test_device_setting_is_checked(monkeypatch):
    monkeypatch.setenv("TRIAGE_DEVICE", "tpu")
    with pytest.raises(ValueError, match="TRIAGE_DEVICE"):
        ct2.device()
    monkeypatch.setenv("TRIAGE_DEVICE", "cpu")
    assert ct2.device() == "cpu"
    monkeypatch.setenv("TRIAGE_CT2_COMPUTE_TYPE", "int8_float16")
    assert ct2.default_quantization("cpu") == "int8_float16"
    monkeypatch.setenv("TRIAGE_CT2_COMPUTE_TYPE", "int3")
    with pytest.raises(ValueError):
        ct2.default_quantization("cpu")
