"""Nothing lost under faults (DESIGN §7.5-9): real worker processes, real Redis."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.ci import NO_SERVICES, need
from tests.e2e.processes import CeleryWorker, PrivateRedis, reset_broker, worker_env
from tests.factories import make_eml
from triage.models import Analysis, AuditEvent, Message
from triage.services import email_ingest
from triage.services.sweeper import triage_sweep
from workers.nlp import PIPELINE_STEPS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FINAL = {Message.TriageStatus.TRIAGED, Message.TriageStatus.FAILED}


@pytest.fixture(autouse=True)
def _needs_services(tiny_models):
    need(
        connection.vendor == "postgresql"
        and not django_settings.CELERY_TASK_ALWAYS_EAGER,
        NO_SERVICES,
    )


@pytest.fixture
def workers():
    reset_broker()
    started: list[CeleryWorker] = []

    def start(pool: str = "solo", **env: str) -> CeleryWorker:
        worker = CeleryWorker(worker_env(**env), pool=pool)
        started.append(worker)
        return worker.wait_ready()

    yield start
    for worker in started:
        worker.stop()
    reset_broker()


def ingest(body: str, n: int = 0) -> Message:
    raw = make_eml(body=body, message_id=f"<fault-{n}-{time.monotonic_ns()}@ex.com>")
    return email_ingest(raw, source="e2e").message


def wait_final(pks, timeout: float = 120, log: str = "") -> list[Message]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(Message.objects.filter(pk__in=pks).order_by("pk"))
        if all(m.triage_status in FINAL for m in rows):
            return rows
        time.sleep(0.25)
    states = dict(Message.objects.filter(pk__in=pks).values_list("pk", "triage_status"))
    raise AssertionError(f"not final after {timeout}s: {states}\n{log}")


def test_sigkill_mid_triage_is_triaged_once_after_redelivery(workers):
    # Redis redelivers an unacked task after the visibility timeout; a claim older
    # than the hard time limit belongs to a dead worker and may be taken over.
    limits = {
        "TRIAGE_TASK_SOFT_TIME_LIMIT": "6",
        "TRIAGE_TASK_TIME_LIMIT": "8",
        "TRIAGE_VISIBILITY_TIMEOUT": "10",
        "TRIAGE_RESTORE_INTERVAL": "1",
        "TRIAGE_RESTORE_THROTTLE": "1",
        "TRIAGE_FAULT_INJECTION": "slow:SLOWMARK:3",
    }
    first = workers(**limits)
    message = ingest("SLOWMARK my parcel never arrived, please refund me.")
    first.wait_for("Fault injection: slow")
    first.kill()
    message.refresh_from_db()
    assert message.triage_status == Message.TriageStatus.TRIAGING

    second = workers(**limits)
    (message,) = wait_final(
        [message.pk], timeout=90, log=f"message {message.pk}\n{second.log}"
    )
    assert message.triage_status == Message.TriageStatus.TRIAGED, message.triage_error
    assert message.triage_attempts == 2
    assert Analysis.objects.filter(message=message).count() == len(PIPELINE_STEPS)
    assert AuditEvent.objects.filter(action="message_triaged").count() == 1


def test_broker_outage_loses_nothing_and_the_sweeper_recovers(
    workers, monkeypatch, settings, tmp_path
):
    from workers.celery import app

    redis = PrivateRedis(tmp_path)  # not started yet: the broker is down
    monkeypatch.setenv("CELERY_BROKER_URL", redis.url)
    settings.CELERY_BROKER_URL = redis.url
    app._after_fork()  # drop pooled connections to the shared Redis
    try:
        # What each ingest costs meanwhile (TRIAGE_PUBLISH_TIMEOUT) is measured by
        # bench/broker_down.py, not asserted here.
        messages = [
            ingest(f"Order {n} arrived broken, refund please.", n) for n in range(20)
        ]
        assert all(m.pk for m in messages)  # stored despite the outage
        stored = Message.objects.filter(pk__in=[m.pk for m in messages])
        assert stored.filter(triage_status="received").count() == 20
        assert stored.filter(triage_enqueued_at__isnull=True).count() == 20

        redis.start()
        app._after_fork()
        worker = workers(CELERY_BROKER_URL=redis.url)
        settings.TRIAGE_SWEEP_AFTER = 0
        assert sorted(triage_sweep()) == sorted(m.pk for m in messages)
        rows = wait_final([m.pk for m in messages], timeout=120, log=worker.log)
    finally:
        monkeypatch.undo()
        app._after_fork()
        redis.stop()
    assert all(m.triage_status == Message.TriageStatus.TRIAGED for m in rows)
    assert all(m.triage_attempts == 1 for m in rows)
    assert Analysis.objects.filter(message__in=rows).count() == 20 * len(PIPELINE_STEPS)


def test_poison_message_fails_after_n_attempts_and_the_queue_moves(workers):
    worker = workers(
        TRIAGE_FAULT_INJECTION="raise:POISONMARK",
        TRIAGE_MAX_ATTEMPTS="3",
        TRIAGE_RETRY_BACKOFF="0.2",
    )
    poison = ingest("POISONMARK where is my order?")
    behind = [ingest(f"Order {n} is late, where is it?", n) for n in range(5)]
    rows = wait_final([poison.pk, *(m.pk for m in behind)], log=worker.log)
    poison, *behind = rows
    assert poison.triage_status == Message.TriageStatus.FAILED
    assert poison.triage_attempts == 3
    assert "injected fault" in poison.triage_error
    assert all(m.triage_status == Message.TriageStatus.TRIAGED for m in behind)
    # A neighbour batched with the poison message loses that one attempt at most.
    assert all(m.triage_attempts <= 2 for m in behind)


def test_hung_step_is_cut_off_retried_and_the_worker_keeps_serving(
    workers, monkeypatch
):
    from workers.tasks import triage_message

    # Time limits need a pool with a supervising parent (prefork), not solo.
    worker = workers(
        pool="prefork",
        TRIAGE_FAULT_INJECTION="hang:HANGMARK",
        TRIAGE_TASK_SOFT_TIME_LIMIT="3",
        TRIAGE_TASK_TIME_LIMIT="6",
        TRIAGE_MAX_ATTEMPTS="2",
        TRIAGE_RETRY_BACKOFF="0.2",
    )
    # Warm the child up under the normal limits: loading models takes longer
    # than the short limit below.
    (warm,) = wait_final([ingest("My parcel never arrived.", 1).pk], log=worker.log)
    assert warm.triage_status == Message.TriageStatus.TRIAGED, warm.triage_error

    # Time limits travel in the task message, set by the publisher (this process);
    # Celery caches a task's publish options on first use, so reset them.
    with monkeypatch.context() as patch:
        patch.setattr(triage_message, "soft_time_limit", 3)
        patch.setattr(triage_message, "time_limit", 6)
        patch.setattr(triage_message, "_exec_options", None)
        hung = ingest("HANGMARK my invoice is wrong", 2)
        (hung,) = wait_final([hung.pk], timeout=90, log=worker.log)
    assert hung.triage_status == Message.TriageStatus.FAILED
    assert hung.triage_attempts == 2
    assert "SoftTimeLimitExceeded" in hung.triage_error

    after = ingest("My parcel is still missing.", 3)
    (after,) = wait_final([after.pk], timeout=60, log=worker.log)
    assert after.triage_status == Message.TriageStatus.TRIAGED, after.triage_error
