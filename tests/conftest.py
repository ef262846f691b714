"""Shared fixtures: tiny local models (built once, cached on disk) and services."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TINY_DIR = Path(os.environ.get("TRIAGE_TINY_DIR", REPO / "var" / "models" / "tiny"))


@pytest.fixture(scope="session")
def tiny_models() -> dict[str, str]:
    """Step name -> local path of a tiny random model of the real architecture."""
    from workers.nlp.tiny import build_tiny_models

    return build_tiny_models(TINY_DIR)
