from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from triage.model_profiles import (
    HUB_MODELS,
    LIBRARY_STEPS,
    ProfileError,
    resolve_models,
)


def test_profiles(monkeypatch, tmp_path):
    for step in (*HUB_MODELS, *LIBRARY_STEPS):
        monkeypatch.delenv(f"TRIAGE_MODEL_{step.upper()}", raising=False)
    assert resolve_models("hub", tiny_dir=tmp_path) == {**HUB_MODELS, **LIBRARY_STEPS}
    tiny = resolve_models("tiny", tiny_dir=tmp_path)
    assert tiny == {
        **{step: str(tmp_path / step) for step in HUB_MODELS},
        **LIBRARY_STEPS,
    }
    offline = resolve_models("offline", tiny_dir=tmp_path, heads_dir=tmp_path / "h")
    assert offline["sentiment"] == f"offline:minilm-heads@{tmp_path / 'h'}"
    assert offline["intent"] == f"offline:minilm-heads@{tmp_path / 'h'}"
    assert offline["translation"] == "offline:apertium@{src}-{tgt}"
    assert offline["language"] == "lingua"
    custom = resolve_models('{"sentiment": "/models/sst2"}', tiny_dir=tmp_path)
    assert custom["sentiment"] == "/models/sst2"
    assert custom["answer"] == HUB_MODELS["answer"]
    monkeypatch.setenv("TRIAGE_MODEL_ANSWER", "/models/squad")
    assert resolve_models("hub", tiny_dir=tmp_path)["answer"] == "/models/squad"
    with pytest.raises(ProfileError):
        resolve_models("bogus", tiny_dir=tmp_path)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, str(Path(REPO) / "manage.py"), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_production_refuses_the_dev_secret_key():
    env = {"TRIAGE_ENV": "production", "DJANGO_ALLOWED_HOSTS": "triage.example.com"}
    env["SECRET_KEY"] = ""
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_passes_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        TRIAGE_ENV="production",
        SECRET_KEY="k" * 20 + "-production-secret-for-tests-only-0123456789",
        DJANGO_ALLOWED_HOSTS="triage.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
