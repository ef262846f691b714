"""A model worker loads its models when it starts, before its first task."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.db import connection

from tests.ci import NO_SERVICES, need
from tests.e2e.processes import CeleryWorker, reset_broker, worker_env
from tests.e2e.test_worker import wait_final
from tests.waiting import wait_until
from triage.models import Message
from triage.services import email_ingest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# workers/nlp/cache.py logs each model it loads: "loaded <key> (revision ...) in".
LOADED = re.compile(r"\bloaded \S+ \(revision .*\) in \d")


def loads(lines: list[str]) -> list[str]:
    return [line for line in lines if LOADED.search(line)]


@pytest.fixture
def worker_factory(transactional_db, tiny_models):
    need(
        connection.vendor == "postgresql" and not settings.CELERY_TASK_ALWAYS_EAGER,
        NO_SERVICES,
    )
    started: list[CeleryWorker] = []

    def start(pool: str, **env: str) -> CeleryWorker:
        reset_broker()
        worker = CeleryWorker(
            worker_env(**env), pool=pool, queues=("gpu", "default")
        ).wait_ready()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    reset_broker()


@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_models_are_loaded_before_the_first_task(worker_factory, sample_bytes, pool):
    worker = worker_factory(pool)
    worker.wait_for("models ready in", timeout=180)
    ready_at = next(
        i for i, line in enumerate(worker.lines) if "models ready in" in line
    )
    assert loads(worker.lines[:ready_at]), worker.log
    for step in ("sentiment", "entities", "draft"):
        assert step in worker.lines[ready_at], worker.lines[ready_at]
    # Every step ran once on the made-up email (workers/warmup.py).
    assert "warm-up done" in worker.lines[ready_at], worker.log

    result = email_ingest(sample_bytes("01-bumblebee.eml"), source="e2e")
    message = wait_final(result.message.pk, worker)
    assert message.triage_status == Message.TriageStatus.TRIAGED, message.triage_error
    # The task found every model it needed loaded.
    assert not loads(worker.lines[ready_at:]), worker.log


def test_preload_off_loads_in_the_first_task(worker_factory, sample_bytes, tmp_path):
    ready = tmp_path / "ready"
    ready.write_text("stale\n")
    worker = worker_factory(
        "prefork", TRIAGE_WORKER_PRELOAD="false", TRIAGE_WORKER_READY_FILE=str(ready)
    )

    # Nothing to load first: the health check passes once the worker is up.
    def written() -> bool:
        return ready.exists() and ready.read_text().startswith("{")

    wait_until(written, timeout=30, what="ready file", log=lambda: worker.log)
    assert json.loads(ready.read_text())["steps"] == []
    result = email_ingest(sample_bytes("01-bumblebee.eml"), source="e2e")
    message = wait_final(result.message.pk, worker)
    assert message.triage_status == Message.TriageStatus.TRIAGED, message.triage_error
    assert "preloading" not in worker.log
    task_at = next(i for i, line in enumerate(worker.lines) if "Task triage." in line)
    assert loads(worker.lines[task_at:]), worker.log
