"""The offline package is cheap to import and its registry hook is well formed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO
from workers.contract import OFFLINE_MODELS as OFFLINE_PROFILE
from workers.nlp.offline import OfflineSpecError, parse_spec
from workers.nlp.registry import build_offline as build_step
from workers.nlp.registry import offline_steps

PROBE = """
import sys
import workers.nlp.offline as offline
from workers.nlp.offline import parse_spec
from workers.contract import OFFLINE_MODELS
from workers.nlp.registry import offline_steps
assert offline_steps() and OFFLINE_MODELS
heavy = sorted(m for m in ("torch", "transformers", "spacy") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


def test_importing_the_package_loads_no_torch_transformers_or_spacy():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_the_probe_would_notice_a_heavy_import():
    # The probe above is only worth something if it can fail.
    result = subprocess.run(
        [sys.executable, "-c", "import torch\n" + PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    assert "HEAVY:torch" in result.stdout


def test_every_profile_step_has_a_factory():
    assert set(OFFLINE_PROFILE) <= set(offline_steps())
    for step, spec in OFFLINE_PROFILE.items():
        assert spec.startswith("offline:"), step


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("offline:minilm-heads", ("minilm-heads", "")),
        ("offline:minilm-heads@/srv/heads", ("minilm-heads", "/srv/heads")),
        (" offline:apertium@es-en ", ("apertium", "es-en")),
    ],
)
def test_parse_spec(spec, expected):
    assert parse_spec(spec) == expected


@pytest.mark.parametrize(
    ("step", "spec"),
    [
        ("sentiment", "distilbert/distilbert-base-uncased-finetuned-sst-2-english"),
        ("sentiment", "offline:spacy"),
        ("entities", "offline:minilm-heads"),
        ("draft", "offline:gpt2"),
        ("language", "offline:minilm-heads"),
    ],
)
def test_wrong_specs_are_refused_before_loading_anything(step, spec):
    with pytest.raises(OfflineSpecError):
        build_step(step, spec)
