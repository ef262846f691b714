"""The plain-text steps through run_pipeline: every step over a batch, errors
isolated per step, order kept. (run_steps, the second pipeline these tests were
written for, is gone: run_pipeline with ``steps=STEPS`` is the same call.)"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from workers.nlp import STEPS, PipelineConfig, cache, get_step, run_pipeline
from workers.nlp_testing.tiny import BUMBLEBEE

REPO = Path(__file__).resolve().parents[3]

OUTCOME_KEYS = {
    "result",
    "error",
    "model",
    "revision",
    "tiny",
    "duration_ms",
    "on",
    # Issue 13: why a step did not read the mail ("" when it did).
    "not_analysed",
}
# Every module of the package: none may pull in torch/transformers on import.
MODULES = sorted(
    path.stem
    for path in (REPO / "workers" / "nlp").glob("*.py")
    if path.stem != "__init__"
) + sorted(
    f"steps.{path.stem}"
    for path in (REPO / "workers" / "nlp" / "steps").glob("*.py")
    if path.stem != "__init__"
)
# Lengths deliberately out of order, so sorting by length must be undone.
TEXTS = [
    BUMBLEBEE,
    "",
    "Meine Bestellung ist nicht angekommen. Bitte um Erstattung.",
    " ".join([BUMBLEBEE] * 6),
    "Bonjour, je voudrais un remboursement.",
]


def run_steps(texts, models, steps=STEPS):
    return run_pipeline(
        [{"text": text} for text in texts], PipelineConfig(models=models), steps=steps
    )


def _approx(value):
    """Floats compared with a tolerance (batch padding), everything else exactly."""
    if isinstance(value, float):
        return pytest.approx(value, abs=1e-5)
    if isinstance(value, dict):
        return {key: _approx(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_approx(item) for item in value]
    return value


def test_importing_workers_nlp_loads_no_torch():
    assert {"pipeline", "translation", "draft", "download", "language"} <= set(MODULES)
    modules = ", ".join(f"workers.nlp.{name}" for name in MODULES)
    probe = (
        f"import workers.nlp, {modules}, sys; "
        "heavy = [m for m in ('torch', 'transformers', 'lingua', 'huggingface_hub')"
        " if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr


def test_every_step_for_every_text_in_input_order(tiny_models):
    outcomes = run_steps(TEXTS, tiny_models)
    assert len(outcomes) == len(TEXTS)
    for text, outcome in zip(TEXTS, outcomes, strict=True):
        assert tuple(outcome) == STEPS
        for step, record in outcome.items():
            assert set(record) == OUTCOME_KEYS
            assert record["on"] == "original"
            assert record["error"] is None, record["error"]
            assert record["model"] == tiny_models[step]
            assert record["revision"] is None
            assert record["tiny"] is True
            assert type(record["duration_ms"]) is float and record["duration_ms"] >= 0
            # Same as running the step on this text alone: results were put back
            # where their text came from.
            (alone,) = get_step(step, tiny_models[step])([text])
            assert record["result"] == _approx(alone)
    assert json.loads(json.dumps(outcomes)) == outcomes


def test_batch_time_is_shared_evenly(tiny_models):
    outcomes = run_steps(TEXTS, tiny_models)
    for step in STEPS:
        assert len({outcome[step]["duration_ms"] for outcome in outcomes}) == 1


def test_a_step_that_cannot_load_spares_the_others(tiny_models, tmp_path, caplog):
    missing = str(tmp_path / "no-such-model")
    models = {**tiny_models, "entities": missing}
    with caplog.at_level(logging.ERROR, logger="workers.nlp.pipeline"):
        outcomes = run_steps(TEXTS, models)
    for outcome in outcomes:
        failed = outcome["entities"]
        assert failed["result"] is None
        assert failed["error"] and failed["error"].split(":")[0].endswith("Error")
        assert failed["model"] == missing and failed["tiny"] is False
        assert outcome["sentiment"]["error"] is None
        assert outcome["answer"]["error"] is None
        assert outcome["answer"]["result"]["question"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None


def test_a_step_that_raises_while_running_spares_the_others(tiny_models, monkeypatch):
    sentiment = get_step("sentiment", tiny_models["sentiment"])

    def broken(self, texts, **kwargs):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(type(sentiment), "__call__", broken)
    outcomes = run_steps(TEXTS, tiny_models)
    for outcome in outcomes:
        assert outcome["sentiment"] == {
            "result": None,
            "error": "RuntimeError: CUDA out of memory",
            "model": tiny_models["sentiment"],
            "revision": None,
            "tiny": True,
            "duration_ms": outcome["sentiment"]["duration_ms"],
            "on": "original",
            "not_analysed": None,
        }
        assert outcome["entities"]["error"] is None
        assert outcome["answer"]["error"] is None


def test_a_step_without_a_model_or_unknown_is_an_error(tiny_models):
    models = {step: path for step, path in tiny_models.items() if step != "answer"}
    models["zodiac"] = tiny_models["sentiment"]
    (outcome,) = run_steps([BUMBLEBEE], models, steps=("sentiment", "answer", "zodiac"))
    assert list(outcome) == ["sentiment", "answer", "zodiac"]
    assert outcome["sentiment"]["error"] is None
    assert outcome["answer"]["error"].startswith(
        "LookupError: no model configured for step 'answer'"
    )
    assert outcome["answer"]["model"] == "" and outcome["answer"]["result"] is None
    assert outcome["zodiac"]["error"].startswith("ValueError: unknown step 'zodiac'")


def test_an_empty_batch_gives_no_outcomes(tiny_models):
    assert run_steps([], tiny_models) == []


def test_models_load_once_per_process_even_across_threads(monkeypatch):
    loads: list[str] = []

    class FakeStep:
        name = "fake"
        revision = None
        tiny = False

        def __init__(self, model_id: str) -> None:
            loads.append(model_id)
            self.model_id = model_id

        def __call__(self, texts: list[str]) -> list[dict]:
            return [{"length": len(text)} for text in texts]

    def get_step(step, model):
        return cache.load_once((step, model), lambda: FakeStep(model))

    monkeypatch.setattr(cache, "_loaded", {})
    found: list[object] = []
    threads = [
        threading.Thread(target=lambda: found.append(get_step("fake", "m1")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == ["m1"] and all(step is found[0] for step in found)
    assert get_step("fake", "m2") is not found[0]
    assert loads == ["m1", "m2"]
