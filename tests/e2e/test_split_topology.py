"""TRIAGE_QUEUE_TOPOLOGY=split with real worker processes: one consumes only
`gpu-encode`, another only `gpu-generate`; a message still ends triaged with
every step, each stage run by its own host, and a failed generation step is
run again on the generate host."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.db import connection

from tests.ci import NO_SERVICES, need
from tests.e2e.processes import CeleryWorker, reset_broker, worker_env
from tests.openai_stub import ScriptedServer
from tests.waiting import wait_until
from triage.models import Message, ReplyDraft
from triage.services import email_ingest
from workers.nlp import PIPELINE_STEPS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUEUES = ("gpu", "gpu-encode", "gpu-generate", "default")


@pytest.fixture
def split(settings, transactional_db, tiny_models) -> Iterator[None]:
    """This process publishes as a split deployment's web and beat do."""
    need(
        connection.vendor == "postgresql" and not settings.CELERY_TASK_ALWAYS_EAGER,
        NO_SERVICES,
    )
    from workers.celery import app

    def route(routes) -> None:
        # The router is cached on first publish: rebuild it both ways, or the
        # tests after this one would still publish to the split queues.
        app.conf.task_routes = routes
        app.amqp.flush_routes()
        app.amqp.router = app.amqp.Router()

    routes = app.conf.task_routes
    settings.TRIAGE_QUEUE_TOPOLOGY = "split"
    settings.TRIAGE_STAGE_QUEUES = {"encode": "gpu-encode", "generate": "gpu-generate"}
    route(
        {
            "triage.generate": {"queue": "gpu-generate"},
            "triage.*": {"queue": "gpu-encode"},
        }
    )
    reset_broker(QUEUES)
    try:
        yield
    finally:
        route(routes)
        reset_broker(QUEUES)
    assert app.amqp.router.route({}, "triage.triage_message")["queue"].name == "gpu"


@contextlib.contextmanager
def split_workers(env: dict[str, str]) -> Iterator[tuple[CeleryWorker, CeleryWorker]]:
    """An encode host and a generate host, stopped however the test ends."""
    encoder = CeleryWorker(env, queues=("gpu-encode",)).wait_ready()
    try:
        generator = CeleryWorker(env, queues=("gpu-generate",)).wait_ready()
        try:
            yield encoder, generator
        finally:
            generator.stop()
    finally:
        encoder.stop()


def test_encode_and_generate_hosts_triage_a_message_together(split, sample_bytes):
    env = worker_env(TRIAGE_QUEUE_TOPOLOGY="split")
    with split_workers(env) as (encoder, generator):
        message = email_ingest(sample_bytes("01-bumblebee.eml"), source="e2e").message

        def final() -> bool:
            message.refresh_from_db()
            return message.triage_status in {
                Message.TriageStatus.TRIAGED,
                Message.TriageStatus.FAILED,
            }

        wait_until(
            final,
            timeout=240,
            what="the message triaged by both stages",
            log=lambda: encoder.log + "\n---\n" + generator.log,
        )
    assert message.triage_status == Message.TriageStatus.TRIAGED, message.triage_error
    assert message.triage_attempts == 1
    rows = {a.step: a for a in message.analyses.all()}
    assert set(rows) == set(PIPELINE_STEPS)
    assert all(not row.error for row in rows.values())
    assert message.ticket.intent and rows["draft"].result["text"]
    assert ReplyDraft.objects.filter(in_reply_to_message=message).exists()
    # Each host ran its own stage only.
    assert "Task triage.triage_message[" in encoder.log
    assert "Task triage.generate[" not in encoder.log
    assert "Task triage.generate[" in generator.log
    assert "Task triage.triage_message[" not in generator.log


def test_a_failed_draft_is_run_again_on_the_generate_host(split, sample_bytes):
    with ScriptedServer(["500", "ok"]) as server:
        env = worker_env(
            TRIAGE_QUEUE_TOPOLOGY="split",
            TRIAGE_MODEL_DRAFT="offline:openai",
            TRIAGE_OPENAI_BASE_URL=server.base_url,
            TRIAGE_OPENAI_MODEL="smollm2",
            TRIAGE_OPENAI_RETRIES="0",
            TRIAGE_RETRY_BACKOFF="0.2",
        )
        with split_workers(env) as (encoder, generator):
            message = email_ingest(
                sample_bytes("01-bumblebee.eml"), source="e2e"
            ).message
            wait_until(
                lambda: ReplyDraft.objects.filter(in_reply_to_message=message).exists(),
                timeout=240,
                what="the draft saved after its re-run",
                log=lambda: encoder.log + "\n---\n" + generator.log,
            )
    assert len(server.seen) == 2
    message.refresh_from_db()
    assert message.triage_status == Message.TriageStatus.TRIAGED
    assert message.triage_error == ""
    # The draft is a generation step: its re-run went to the generate host.
    assert "Task triage.rerun_steps[" in generator.log
    assert "Task triage.rerun_steps[" not in encoder.log
