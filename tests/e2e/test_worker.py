"""Ingest -> Redis -> a real Celery worker process -> PostgreSQL."""

from __future__ import annotations

import time

import pytest

from triage.models import Message
from triage.services import email_ingest
from workers.nlp import PIPELINE_STEPS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FINAL = {Message.TriageStatus.TRIAGED, Message.TriageStatus.FAILED}


def wait_final(pk: int, worker, timeout: float = 180) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = Message.objects.get(pk=pk)
        if message.triage_status in FINAL:
            return message
        time.sleep(0.3)
    raise AssertionError(f"message {pk} not triaged in {timeout}s:\n{worker.log}")


def test_worker_triages_an_ingested_email(celery_worker_process, sample_bytes):
    result = email_ingest(sample_bytes("01-bumblebee.eml"), source="e2e")
    assert result.created
    message = wait_final(result.message.pk, celery_worker_process)
    assert message.triage_status == Message.TriageStatus.TRIAGED, message.triage_error
    assert message.triage_attempts == 1
    rows = {a.step: a for a in message.analyses.all()}
    assert set(rows) == set(PIPELINE_STEPS)
    assert all(not row.error for row in rows.values())
    assert all(rows[step].is_tiny for step in ("sentiment", "entities", "answer"))
    text = message.text_body
    for ent in rows["entities"].result:
        assert 0 <= ent["start"] < ent["end"] <= len(text)
        assert text[ent["start"] : ent["end"]] == ent["text"]
    answer = rows["answer"].result
    assert 0 <= answer["start"] <= answer["end"] <= len(text)
    assert text[answer["start"] : answer["end"]] == answer["answer"]

    # The same email again: no new row, no second triage; a reply threads.
    again = email_ingest(sample_bytes("01-bumblebee.eml"), source="e2e")
    assert not again.created and again.message.pk == message.pk
    reply = email_ingest(sample_bytes("04-bumblebee-reply.eml"), source="e2e")
    reply_message = wait_final(reply.message.pk, celery_worker_process)
    assert reply_message.ticket_id == message.ticket_id
    message.refresh_from_db()
    assert message.triage_attempts == 1
    assert "Task triage.triage_message[" in celery_worker_process.log
