"""Device and dtype selection (CPU here; CUDA paths need a GPU host)."""

from __future__ import annotations

import pytest
import torch

from workers.nlp.device import pick_device


@pytest.fixture(autouse=True)
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_cpu_default_is_float32(monkeypatch):
    monkeypatch.delenv("TRIAGE_DEVICE", raising=False)
    monkeypatch.delenv("TRIAGE_DTYPE", raising=False)
    if torch.cuda.is_available():
        pytest.skip("a GPU host picks cuda")
    assert pick_device() == ("cpu", torch.float32)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("auto", torch.float32), ("float32", torch.float32), ("bfloat16", torch.bfloat16)],
)
def test_dtype_override_on_cpu(monkeypatch, dtype, expected):
    monkeypatch.setenv("TRIAGE_DEVICE", "cpu")
    monkeypatch.setenv("TRIAGE_DTYPE", dtype)
    assert pick_device() == ("cpu", expected)


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


def test_cuda_without_a_gpu_is_an_error(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this host has a GPU")
    monkeypatch.setenv("TRIAGE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        pick_device()
