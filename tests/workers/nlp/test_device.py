"""Device and dtype selection.

The CPU paths run everywhere (a GPU is hidden from a subprocess where needed);
the CUDA variants (marker `cuda`) run on a GPU host and skip elsewhere, the one
skip tests/ci.py allows under CI=true.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from workers.nlp.device import pick_device

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def run_python(code: str, *args: str, **env: str) -> str:
    """`code` in a fresh interpreter: torch decides what it sees at start-up, and
    the step registry of this process may hold models loaded for another device."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


PICK = """
from workers.nlp.device import pick_device
try:
    print(*pick_device())
except (RuntimeError, ValueError) as error:
    print(type(error).__name__, error)
"""
# No GPU visible, on any host: the CPU paths are tested on GPU hosts too.
NO_GPU = {"CUDA_VISIBLE_DEVICES": ""}


def test_cpu_default_is_float32():
    out = run_python(PICK, TRIAGE_DEVICE="", TRIAGE_DTYPE="", **NO_GPU)
    assert out.split() == ["cpu", "torch.float32"]


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("auto", torch.float32), ("float32", torch.float32), ("bfloat16", torch.bfloat16)],
)
def test_dtype_override_on_cpu(monkeypatch, dtype, expected):
    monkeypatch.setenv("TRIAGE_DEVICE", "cpu")
    monkeypatch.setenv("TRIAGE_DTYPE", dtype)
    assert pick_device() == ("cpu", expected)


@pytest.mark.parametrize(
    ("has_amx", "generates", "dtype", "expected"),
    [
        (True, True, "auto", torch.bfloat16),
        (True, False, "auto", torch.float32),  # encoders: same labels on every CPU
        (False, True, "auto", torch.float32),
        (True, True, "float32", torch.float32),  # the setting wins
        (False, False, "bfloat16", torch.bfloat16),
    ],
)
def test_generation_takes_bfloat16_on_an_amx_cpu(
    monkeypatch, host_amx, has_amx, generates, dtype, expected
):
    host_amx(has_amx)
    monkeypatch.setenv("TRIAGE_DEVICE", "cpu")
    monkeypatch.setenv("TRIAGE_DTYPE", dtype)
    assert pick_device(generates=generates) == ("cpu", expected)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("AVX512_CORE_BF16", torch.float32),
        ("avx2", torch.float32),
        ("AVX512_CORE_AMX", torch.bfloat16),
        ("ALL", torch.bfloat16),
    ],
)
def test_onednn_capped_below_amx_keeps_float32(monkeypatch, host_amx, limit, expected):
    host_amx(True)
    monkeypatch.setenv("TRIAGE_DEVICE", "cpu")
    monkeypatch.setenv("TRIAGE_DTYPE", "auto")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", limit)
    assert pick_device(generates=True) == ("cpu", expected)


@pytest.mark.parametrize(
    ("vendor", "avx512_bf16", "limit", "expected"),
    [
        ("AuthenticAMD", True, "", torch.bfloat16),  # Zen 4: 2.1x faster drafts
        ("AuthenticAMD", True, "AVX512_CORE_BF16", torch.bfloat16),
        ("AuthenticAMD", True, "avx512_core_vnni", torch.float32),  # would emulate
        ("AuthenticAMD", False, "", torch.float32),  # Zen 3 and older
        ("GenuineIntel", True, "", torch.float32),  # measured slower without AMX
    ],
)
def test_generation_takes_bfloat16_on_an_amd_cpu_with_avx512_bf16(
    monkeypatch, host_cpu, vendor, avx512_bf16, limit, expected
):
    host_cpu(amx=False, vendor=vendor, avx512_bf16=avx512_bf16)
    monkeypatch.setenv("TRIAGE_DEVICE", "cpu")
    monkeypatch.setenv("TRIAGE_DTYPE", "auto")
    if limit:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", limit)
    assert pick_device(generates=True) == ("cpu", expected)
    assert pick_device(generates=False) == ("cpu", torch.float32)


def test_bfloat16_choice_is_what_the_cpu_reports(monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    from workers.nlp.device import fast_bfloat16

    cpuinfo = Path("/proc/cpuinfo")
    info = cpuinfo.read_text() if cpuinfo.exists() else ""
    if not info:
        pytest.skip("no /proc/cpuinfo to compare with")
    if " amx_tile" in info and " amx_bf16" in info:
        expected = "AMX"
    elif "AuthenticAMD" in info and " avx512_bf16" in info:
        expected = "AVX512-BF16"
    else:
        expected = ""
    assert fast_bfloat16(torch) == expected


def test_amx_is_what_the_cpu_reports(monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    from workers.nlp.device import amx

    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if not flags:
        pytest.skip("no /proc/cpuinfo to compare with")
    assert amx(torch) == (" amx_tile" in flags and " amx_bf16" in flags)


@pytest.mark.parametrize(
    ("device", "dtype", "message"),
    [
        ("cpu", "float16", "needs a CUDA device"),
        ("cpu", "int8", "TRIAGE_DTYPE must be"),
        ("tpu", "auto", "TRIAGE_DEVICE must be"),
    ],
)
def test_bad_settings_fail_at_load(monkeypatch, device, dtype, message):
    monkeypatch.setenv("TRIAGE_DEVICE", device)
    monkeypatch.setenv("TRIAGE_DTYPE", dtype)
    with pytest.raises(ValueError, match=message):
        pick_device()


def test_cuda_without_a_gpu_is_an_error():
    out = run_python(PICK, TRIAGE_DEVICE="cuda", **NO_GPU)
    assert out.startswith("RuntimeError TRIAGE_DEVICE=cuda but torch sees no CUDA")


# --- CUDA variants: run on a GPU host, skip (allow-listed in tests/ci.py) elsewhere.


@pytest.mark.cuda
def test_gpu_default_is_cuda_float16(monkeypatch):
    monkeypatch.delenv("TRIAGE_DEVICE", raising=False)
    monkeypatch.delenv("TRIAGE_DTYPE", raising=False)
    assert pick_device() == ("cuda", torch.float16)


@pytest.mark.cuda
@pytest.mark.parametrize(
    ("device", "dtype", "expected"),
    [
        ("cuda", "auto", ("cuda", torch.float16)),
        ("cuda:0", "bfloat16", ("cuda:0", torch.bfloat16)),
        ("auto", "float32", ("cuda", torch.float32)),
        ("cpu", "auto", ("cpu", torch.float32)),  # a GPU host can still be told cpu
    ],
)
def test_overrides_on_a_gpu_host(monkeypatch, device, dtype, expected):
    monkeypatch.setenv("TRIAGE_DEVICE", device)
    monkeypatch.setenv("TRIAGE_DTYPE", dtype)
    assert pick_device() == expected


PIPELINE = """
import json, sys
from pathlib import Path
from transformers import AutoModelForSequenceClassification as Classifier
from workers.nlp import PipelineConfig, run_pipeline
from workers.nlp.device import load_pretrained
from tests.workers.nlp.conftest import SAMPLES, SHOP_EMAIL, read_sample

models = json.loads(sys.argv[1])
model, _, device = load_pretrained(Classifier, models["sentiment"])
weights = next(model.parameters())
config = PipelineConfig(
    models=models, summary_min_words=20, summary_max_length=8, draft_max_new_tokens=8,
    shop_name="Example Shop", shop_email=SHOP_EMAIL, batch_size=4,
)
emails = [read_sample(p.name) for p in sorted(SAMPLES.glob("*.eml"))]
outcomes = run_pipeline(emails, config)
print(json.dumps({
    "device": str(weights.device), "dtype": str(weights.dtype),
    "outcomes": outcomes,
}, default=str))
"""


def ran(outcomes: list[dict]) -> list[dict[str, bool]]:
    """Which steps ran without error, per email."""
    return [{step: r["error"] is None for step, r in o.items()} for o in outcomes]


@pytest.mark.cuda
def test_the_tiny_pipeline_runs_on_the_gpu_as_on_the_cpu(tiny_models):
    models = json.dumps(tiny_models)
    gpu = json.loads(run_python(PIPELINE, models, TRIAGE_DEVICE="cuda"))
    cpu = json.loads(run_python(PIPELINE, models, TRIAGE_DEVICE="cpu"))
    assert (gpu["device"], gpu["dtype"]) == ("cuda:0", "torch.float16")
    assert (cpu["device"], cpu["dtype"]) == ("cpu", "torch.float32")
    # Random weights: values mean nothing, but what ran, failed and was returned
    # must not depend on the device.
    assert ran(gpu["outcomes"]) == ran(cpu["outcomes"])
    assert all(all(steps.values()) for steps in ran(gpu["outcomes"]))
    for on_gpu, on_cpu in zip(gpu["outcomes"], cpu["outcomes"], strict=True):
        for step, record in on_gpu.items():
            result, expected = record["result"], on_cpu[step]["result"]
            if isinstance(result, dict) and isinstance(expected, dict):
                assert result.keys() == expected.keys(), step
