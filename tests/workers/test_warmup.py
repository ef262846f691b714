"""Which steps' models a worker loads at start, by the queues it consumes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO
from workers.nlp import PipelineConfig
from workers.nlp.stages import stage_steps
from workers.warmup import on_a_server, served_steps

SINGLE = {"encode": "gpu", "generate": "gpu"}
SPLIT = {"encode": "gpu-encode", "generate": "gpu-generate"}
EVERY = [*stage_steps("encode"), *stage_steps("generate")]


@pytest.mark.parametrize(
    ("consumed", "queues", "expected"),
    [
        (["gpu", "default"], SINGLE, EVERY),
        (["gpu", "gpu-encode", "gpu-generate"], SPLIT, EVERY),
        (["gpu-encode"], SPLIT, list(stage_steps("encode"))),
        (["gpu-generate"], SPLIT, list(stage_steps("generate"))),
        # The split queues under the single topology carry no triage task.
        (["gpu-encode", "gpu-generate"], SINGLE, []),
        (["mail", "default"], SINGLE, []),
        (None, SINGLE, EVERY),
    ],
)
def test_served_steps_follow_the_queues(consumed, queues, expected):
    assert served_steps(consumed, queues) == expected


def test_the_stages_cover_every_step_once():
    assert sorted(EVERY) == sorted(set(EVERY))
    assert "draft" in stage_steps("generate") and "language" in stage_steps("encode")


def test_choosing_the_steps_imports_no_torch():
    # It runs in the prefork parent, which must never import torch: its children
    # would inherit a torch (and OpenMP) state forked mid-flight.
    code = (
        "import django, sys; django.setup()\n"
        "from workers.warmup import served_steps\n"
        "assert served_steps(['gpu'], {'encode': 'gpu', 'generate': 'gpu'})\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    env = {
        **os.environ,
        "TRIAGE_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "triage.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.parametrize(
    ("models", "backends", "remote"),
    [
        ({"draft": "offline:openai"}, {}, {"draft"}),
        ({"draft": "offline:smollm2"}, {}, set()),
        ({"summary": "openai:qwen"}, {}, {"summary"}),
        (
            {"chat": "openai:qwen", "draft": "gpt2"},
            {"draft": "chat", "summary": "chat"},
            {"draft", "summary"},
        ),
        # The chat backend on a local instruction model warms up like any other.
        ({"chat": "/models/qwen", "draft": "gpt2"}, {"draft": "chat"}, set()),
    ],
)
def test_steps_a_server_runs_are_left_out_of_the_warm_up(models, backends, remote):
    config = PipelineConfig(models=models, backends=backends)
    found = {step for step in EVERY if on_a_server(step, config)}
    assert found == remote
