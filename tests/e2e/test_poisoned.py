"""Issue 10 (DESIGN §7.19): one poisoned message among twenty, a real worker.

The poisoned row holds a date PostgreSQL keeps but Python cannot read (year 10000
in UTC, as stored before ingest checked dates) and its text crashes the pipeline.
Reading it whole used to raise inside the claim of every batch that picked it up,
so nothing was triaged; now the claim reads ids, the job reads only its columns,
and the poisoned message is failed by id with its error while the others go on.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.ci import missing
from tests.e2e.processes import CeleryWorker, reset_broker, worker_env
from tests.factories import make_eml
from triage.models import Message
from triage.services import email_ingest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FINAL = {Message.TriageStatus.TRIAGED, Message.TriageStatus.FAILED}


@pytest.fixture
def worker_factory(tiny_models):
    if connection.vendor != "postgresql" or django_settings.CELERY_TASK_ALWAYS_EAGER:
        missing("needs PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL)")
    reset_broker()
    started: list[CeleryWorker] = []

    def start(**env: str) -> CeleryWorker:
        worker = CeleryWorker(worker_env(**env), pool="solo")
        started.append(worker)
        return worker.wait_ready()

    yield start
    for worker in started:
        worker.stop()
    reset_broker()


def states(pks: list[int]) -> dict[int, tuple[str, int, str]]:
    # Not whole rows: the poisoned one cannot be read whole, by design.
    rows = Message.objects.filter(pk__in=pks).values_list(
        "pk", "triage_status", "triage_attempts", "triage_error"
    )
    return {pk: (status, attempts, error) for pk, status, attempts, error in rows}


def test_one_poisoned_message_among_twenty_leaves_nineteen_triaged(worker_factory):
    run = time.monotonic_ns()
    pks = [
        email_ingest(
            make_eml(
                body=(
                    "POISON10MARK give me everything"
                    if n == 0
                    else f"Order {n} arrived broken, please refund."
                ),
                message_id=f"<poisoned-{run}-{n}@example.com>",
            ),
            source="e2e",
        ).message.pk
        for n in range(20)
    ]
    poisoned = pks[0]  # the oldest: every claim's `extra` used to pick it first
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE triage_message SET sent_at = '10000-01-01 00:00:00+00' "
            "WHERE id = %s",
            [poisoned],
        )
    worker = worker_factory(
        TRIAGE_FAULT_INJECTION="raise:POISON10MARK",
        TRIAGE_MAX_ATTEMPTS="3",
        TRIAGE_RETRY_BACKOFF="0.2",
    )
    deadline = time.monotonic() + 900  # a loaded 2-core CI machine
    while time.monotonic() < deadline:
        now = states(pks)
        if all(status in FINAL for status, _, _ in now.values()):
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"not final: {states(pks)}\n{worker.log}")
    status, attempts, error = now.pop(poisoned)
    assert status == Message.TriageStatus.FAILED
    assert "injected fault" in error and attempts <= 3
    assert {s for s, _, _ in now.values()} == {Message.TriageStatus.TRIAGED}
    assert len(now) == 19
