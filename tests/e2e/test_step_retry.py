"""A step that fails on a server error is re-run alone by the task (issue 14).

A real worker process drafts through the OpenAI-compatible backend against a
real local HTTP server (tests/openai_stub.py) that first answers 500 or hangs
past the client's timeout: the first save records the draft as failed and the
other steps' results; the task then runs the draft step again, on the saved
results, until the server answers, without running the other steps again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from tests.ci import NO_SERVICES, need
from tests.e2e.processes import CeleryWorker, reset_broker, worker_env
from tests.openai_stub import ScriptedServer
from tests.waiting import wait_until
from triage.models import Analysis, AuditEvent, Message, ReplyDraft
from triage.services import email_ingest
from workers.nlp import PIPELINE_STEPS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def start_worker(base_url: str, **extra: str) -> CeleryWorker:
    return CeleryWorker(
        worker_env(
            TRIAGE_MODEL_DRAFT="offline:openai",
            TRIAGE_OPENAI_BASE_URL=base_url,
            TRIAGE_OPENAI_MODEL="smollm2",
            TRIAGE_OPENAI_RETRIES="0",
            TRIAGE_OPENAI_TIMEOUT="1",
            TRIAGE_MAX_ATTEMPTS="3",
            TRIAGE_RETRY_BACKOFF="0.2",
            **extra,
        ),
        queues=("gpu", "default"),
    ).wait_ready()


@pytest.fixture
def broker(transactional_db, tiny_models) -> Iterator[None]:
    need(
        connection.vendor == "postgresql" and not settings.CELERY_TASK_ALWAYS_EAGER,
        NO_SERVICES,
    )
    reset_broker()
    yield
    reset_broker()


def draft_row(message: Message) -> Analysis | None:
    return Analysis.objects.filter(message=message, step="draft").first()


@pytest.mark.parametrize("failure", ["500", "hang"])
def test_a_failed_draft_is_run_again_alone_until_the_server_answers(
    failure, broker, sample_bytes
):
    with ScriptedServer([failure, "ok"], hang_s=4.0) as server:
        worker = start_worker(server.base_url)
        try:
            message = email_ingest(
                sample_bytes("01-bumblebee.eml"), source="e2e"
            ).message
            wait_until(
                lambda: (
                    (row := draft_row(message)) is not None
                    and not row.error
                    and ReplyDraft.objects.filter(in_reply_to_message=message).exists()
                ),
                timeout=240,
                what="the draft saved after its re-run",
                log=lambda: worker.log,
            )
        finally:
            worker.stop()
    message.refresh_from_db()
    assert message.triage_status == Message.TriageStatus.TRIAGED
    assert message.triage_error == ""
    assert message.triage_attempts == 1  # the message was claimed once
    assert server.seen == ["/v1/chat/completions"] * 2
    rows = {a.step: a for a in message.analyses.all()}
    assert set(rows) == set(PIPELINE_STEPS)
    assert all(not row.error for row in rows.values())
    assert rows["draft"].result["backend"] in {"openai", "template"}
    # Two saves: the first recorded the failed draft beside the other steps'
    # results; the second wrote the draft's row only (the other steps did not
    # run again: their rows predate the first save's audit event).
    first, second = AuditEvent.objects.filter(
        action="message_triaged", detail__message=message.pk
    ).order_by("pk")
    assert first.detail["failed_steps"] == ["draft"]
    assert second.detail["failed_steps"] == []
    for step, row in rows.items():
        if step == "draft":
            assert row.created_at > first.created_at
        else:
            assert row.created_at < first.created_at, step
    assert "Task triage.rerun_steps[" in worker.log


def test_a_draft_that_keeps_failing_stays_recorded_as_failed(broker, sample_bytes):
    with ScriptedServer(["500"]) as server:
        worker = start_worker(server.base_url)
        try:
            message = email_ingest(
                sample_bytes("01-bumblebee.eml"), source="e2e"
            ).message
            worker.wait_for("still fail; giving up", timeout=240)
        finally:
            worker.stop()
    # TRIAGE_MAX_ATTEMPTS runs in all: the first and two re-runs.
    assert len(server.seen) == 3
    message.refresh_from_db()
    assert message.triage_status == Message.TriageStatus.TRIAGED
    assert "draft: OpenAIBackendError" in message.triage_error
    rows = {a.step: a for a in message.analyses.all()}
    assert "OpenAIBackendError" in rows["draft"].error
    assert all(not rows[s].error for s in rows if s != "draft")
