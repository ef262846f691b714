"""The bookkeeping between the triage tasks (issue 14): the encode stage's save,
the final save over kept rows, and which failed steps are run again."""

from __future__ import annotations

import pytest

from tests.factories import MessageFactory
from tests.triage.test_analysis_save import full_results, outcome
from triage import queue
from triage.models import Analysis, Message, ReplyDraft
from triage.selectors.analyses import message_outcomes
from triage.services import (
    analysis_save,
    analysis_save_encoded,
    message_generate_claim,
    message_rerun_job,
    steps_to_rerun,
)

pytestmark = pytest.mark.django_db

ENCODED = ("language", "translation", "sentiment", "intent")


def triaging() -> Message:
    return MessageFactory(triage_status=Message.TriageStatus.TRIAGING)


def test_the_encode_stage_saves_rows_and_hands_over_after_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    message = triaging()
    results = {s: o for s, o in full_results().items() if s in ENCODED}
    published: list[tuple[str, list]] = []
    monkeypatch.setattr(
        queue, "publish", lambda name, args, **kw: published.append((name, args))
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert analysis_save_encoded(message_id=message.pk, results=results)
    assert published == [(queue.TRIAGE_GENERATE, [message.pk])]
    message.refresh_from_db()
    # Not done, not shown as triaged, until the generate stage saved.
    assert message.triage_status == Message.TriageStatus.TRIAGING
    assert set(message.analyses.values_list("step", flat=True)) == set(ENCODED)
    assert not ReplyDraft.objects.filter(in_reply_to_message=message).exists()
    # As the generate task reads them back.
    saved = message_outcomes(message.pk)
    assert saved["sentiment"]["result"] == results["sentiment"]["result"]
    assert saved["sentiment"]["on"] == "translation"
    assert saved["sentiment"]["error"] is None

    job = message_generate_claim(message.pk)
    assert job is not None and job.message_id == message.pk
    analysis_save(
        message_id=message.pk,
        results={"draft": full_results()["draft"]},
        keep=list(saved),
    )
    message.refresh_from_db()
    assert message.triage_status == Message.TriageStatus.TRIAGED
    assert message.ticket.intent == "damaged" and message.ticket.language == "de"
    assert ReplyDraft.objects.filter(in_reply_to_message=message).exists()
    # Done: no second generate stage, and a re-run of its steps may proceed.
    assert message_generate_claim(message.pk) is None
    assert message_rerun_job(message.pk) is not None


def test_a_message_no_longer_triaging_is_not_saved_by_the_encode_stage(
    django_capture_on_commit_callbacks,
):
    message = MessageFactory(triage_status=Message.TriageStatus.FAILED)
    with django_capture_on_commit_callbacks() as callbacks:
        assert not analysis_save_encoded(message_id=message.pk, results=full_results())
    assert callbacks == []
    assert not Analysis.objects.filter(message=message).exists()
    assert message_rerun_job(triaging().pk) is None


def test_a_retried_step_rewrites_its_row_only_and_the_status_counts_all():
    message = MessageFactory()
    failed = {**full_results(), "draft": outcome(None, error="OpenAIBackendError: 500")}
    analysis_save(message_id=message.pk, results=failed)
    message.refresh_from_db()
    assert message.triage_status == Message.TriageStatus.TRIAGED
    assert message.triage_error == "draft: OpenAIBackendError: 500"
    assert steps_to_rerun(failed) == ["draft"]
    before = dict(message.analyses.values_list("step", "created_at"))

    kept = [s for s in failed if s != "draft"]
    analysis_save(
        message_id=message.pk, results={"draft": full_results()["draft"]}, keep=kept
    )
    message.refresh_from_db()
    assert message.triage_error == ""
    after = dict(message.analyses.values_list("step", "created_at"))
    assert after["draft"] > before["draft"]
    assert {s: after[s] for s in kept} == {s: before[s] for s in kept}
    assert ReplyDraft.objects.filter(in_reply_to_message=message).exists()


def test_only_failed_analysis_steps_are_run_again():
    results = {
        "language": outcome(None, error="RuntimeError: x"),
        "translation": outcome(None, error="TranslationUnavailable: de->en"),
        "sentiment": outcome(None, error="RuntimeError: cuda"),
        "intent": outcome({"label": "other"}),
    }
    assert steps_to_rerun(results) == ["sentiment"]
