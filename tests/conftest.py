"""Shared fixtures: tiny local models (built once, cached on disk) and services."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing in the suite may reach the Hugging Face Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
TINY_DIR = Path(os.environ.get("TRIAGE_TINY_DIR", REPO / "var" / "models" / "tiny"))


def pytest_sessionstart(session: pytest.Session) -> None:
    # CI must exercise the real services; a silent fallback would hide a broken run.
    if os.environ.get("CI") == "true":
        missing = [
            v for v in ("DATABASE_URL", "CELERY_BROKER_URL") if not os.environ.get(v)
        ]
        if missing:
            raise pytest.UsageError(f"CI=true but {', '.join(missing)} unset")


@pytest.fixture(scope="session")
def tiny_models() -> dict[str, str]:
    """Step name -> local path of a tiny random model of the real architecture."""
    from workers.nlp_testing.tiny import build_tiny_models

    return build_tiny_models(TINY_DIR)


@pytest.fixture
def tiny_settings(settings, tiny_models):
    settings.TRIAGE_MODELS = dict(tiny_models)
    return settings


@pytest.fixture
def sample_bytes():
    def read(name: str) -> bytes:
        return (SAMPLES / name).read_bytes()

    return read
