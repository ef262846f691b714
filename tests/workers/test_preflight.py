"""A GPU worker refuses to start without its models when the Hub is unreachable."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.ci import missing
from tests.conftest import REPO
from tests.e2e.processes import CeleryWorker
from workers.preflight import missing_models


def worker_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_MODEL")}
    return {
        **env,
        "TRIAGE_ENV": "development",
        "HF_HOME": str(tmp_path / "empty-hf-home"),  # nothing cached
        "HF_HUB_OFFLINE": "1",  # and no Hub
        "TRIAGE_MODELS": "hub",
        **extra,
    }


def test_missing_models_lists_hub_ids_absent_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    models = {
        "language": "lingua",
        "sentiment": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        "summary": str(tmp_path),  # a local folder is never "missing"
        "translation": "Helsinki-NLP/opus-mt-{src}-{tgt}",
    }
    missing = missing_models(models, [("de", "en")])
    assert missing == [
        ("sentiment", "distilbert/distilbert-base-uncased-finetuned-sst-2-english"),
        ("translation", "Helsinki-NLP/opus-mt-de-en"),
    ]


def test_gpu_worker_refuses_to_start_and_names_the_models(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "gpu"],
        cwd=REPO,
        env=worker_env(tmp_path, CELERY_BROKER_URL="memory://"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 78, result.stdout + result.stderr
    assert "Refusing to start" in result.stderr
    assert "facebook/bart-large-mnli" in result.stderr
    assert "manage.py download_models" in result.stderr
    assert " ready." not in result.stdout + result.stderr


def test_a_mail_worker_needs_no_models(tmp_path):
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        missing("needs Redis (CELERY_BROKER_URL)")
    worker = CeleryWorker(worker_env(tmp_path), queues=("mail", "default"))
    try:
        worker.wait_ready(timeout=120)
        assert "Refusing to start" not in worker.log
    finally:
        worker.stop()
