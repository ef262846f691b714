"""The triage flow on tiny models: ingest -> (eager) task -> Analysis rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factories import MessageFactory, make_eml
from triage.mime import parse_email
from triage.models import Analysis, Message, Ticket
from triage.services import email_ingest
from workers.nlp import PIPELINE_STEPS
from workers.tasks import triage_message, triage_messages

pytestmark = pytest.mark.django_db(transaction=True)


def _labels(model_dir: str) -> set[str]:
    config = json.loads((Path(model_dir) / "config.json").read_text())
    return set(config["id2label"].values())


def _assert_span(text: str, start: int, end: int, span_text: str) -> None:
    assert 0 <= start <= end <= len(text)
    assert text[start:end] == span_text


def test_ingest_triages_with_every_step(sample_bytes, tiny_settings, tiny_models):
    message = email_ingest(sample_bytes("01-bumblebee.eml"), source="file").message
    message.refresh_from_db()
    assert message.triage_status == Message.TriageStatus.TRIAGED
    assert message.triage_attempts == 1
    rows = {a.step: a for a in message.analyses.all()}
    assert set(rows) == set(PIPELINE_STEPS)
    for row in rows.values():
        assert row.error == "" and row.model and row.duration_ms >= 0
    # English mail: no translation ran; language comes from a packaged detector.
    assert rows["translation"].result["skipped"]
    for step in ("sentiment", "entities", "answer", "summary", "intent", "draft"):
        assert rows[step].is_tiny, step

    sentiment = rows["sentiment"].result
    assert sentiment["label"] in _labels(tiny_models["sentiment"])
    assert 0.0 <= sentiment["score"] <= 1.0

    text = message.text_body
    entity_labels = {lab.split("-")[-1] for lab in _labels(tiny_models["entities"])}
    for ent in rows["entities"].result:
        _assert_span(text, ent["start"], ent["end"], ent["text"])
        assert ent["label"] in entity_labels
        assert "##" not in ent["text"]

    answer = rows["answer"].result
    assert answer["question"] == "What does the customer want?"
    _assert_span(text, answer["start"], answer["end"], answer["answer"])

    ticket = Ticket.objects.get(pk=message.ticket_id)
    assert ticket.sentiment_label == sentiment["label"]
    assert ticket.status == Ticket.Status.NEEDS_REVIEW


def test_a_failing_step_is_recorded_and_the_others_run(tiny_settings, tmp_path):
    tiny_settings.TRIAGE_MODELS = {
        **tiny_settings.TRIAGE_MODELS,
        "entities": str(tmp_path / "no-such-model"),
    }
    message = email_ingest(make_eml(), source="t").message
    message.refresh_from_db()
    rows = {a.step: a for a in message.analyses.all()}
    assert rows["entities"].error and rows["entities"].result is None
    assert not rows["sentiment"].error and rows["sentiment"].result
    assert not rows["answer"].error and rows["answer"].result is not None
    assert message.triage_status == Message.TriageStatus.TRIAGED
    assert "entities" in message.triage_error


def test_every_step_failing_marks_the_message_failed(tiny_settings, tmp_path):
    missing = str(tmp_path / "missing")
    tiny_settings.TRIAGE_MODELS = dict.fromkeys(tiny_settings.TRIAGE_MODELS, missing)
    message = email_ingest(make_eml(), source="t").message
    message.refresh_from_db()
    assert message.triage_status == Message.TriageStatus.FAILED
    failed = set(
        Analysis.objects.filter(message=message)
        .exclude(error="")
        .values_list("step", flat=True)
    )
    assert failed == set(PIPELINE_STEPS) - {"language", "translation"}


def test_triage_is_idempotent(tiny_settings):
    message = email_ingest(make_eml(), source="t").message
    assert triage_messages([message.pk]) == 0  # already triaged: skipped
    triage_message.delay(message.pk)
    message.refresh_from_db()
    assert message.triage_attempts == 1
    assert Analysis.objects.filter(message=message).count() == len(PIPELINE_STEPS)


def test_batch_saves_each_message(tiny_settings, sample_bytes):
    # Factories write rows directly, so nothing is enqueued: the batch runs here.
    texts = [
        parse_email(sample_bytes(name)).text_body
        for name in ("01-bumblebee.eml", "02-german-complaint.eml", "05-html-only.eml")
    ]
    messages = [MessageFactory(text_body=text) for text in texts]
    assert triage_messages([m.pk for m in messages]) == 3
    for message in messages:
        message.refresh_from_db()
        assert message.triage_status == Message.TriageStatus.TRIAGED
        rows = {a.step: a for a in message.analyses.all()}
        # Offsets point into the text the step read: the mail or its translation.
        text = (
            rows["translation"].result["text"]
            if rows["answer"].computed_on == "translation"
            else message.text_body
        )
        answer = rows["answer"].result
        _assert_span(text, answer["start"], answer["end"], answer["answer"])


def test_missing_message_is_a_no_op(tiny_settings):
    assert triage_messages([987654]) == 0
