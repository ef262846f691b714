"""analysis_save with every step's result shape (plain dicts, as workers.nlp gives)."""

from __future__ import annotations

import pytest

from tests.factories import MessageFactory
from triage.models import Analysis, Message, ReplyDraft, Ticket
from triage.services import analysis_save

pytestmark = pytest.mark.django_db


def outcome(result, *, on="original", error=None):
    return {"result": result, "error": error, "model": "m", "on": on, "tiny": False}


def full_results(draft_text: str = "Dear Jürgen, we are sorry.") -> dict:
    return {
        "language": outcome({"language": "de", "confidence": 0.99, "detector": "x"}),
        "translation": outcome(
            {
                "source_language": "de",
                "target_language": "en",
                "text": "My coffee machine arrived damaged.",
                "skipped": False,
                "reason": None,
                "segments": 1,
            }
        ),
        "sentiment": outcome({"label": "NEGATIVE", "score": 0.97}, on="translation"),
        "intent": outcome(
            {
                "label": "damaged",
                "score": 0.8,
                "scores": {"damaged": 0.8, "other": 0.2},
                "priority": "high",
                "priority_reasons": ["damaged item"],
            },
            on="translation",
        ),
        "draft": outcome(
            {
                "text": draft_text,
                "text_customer_language": "Sehr geehrter Jürgen, es tut uns leid.",
                "customer_language": "de",
                "backend": "causal",
                "prompt_version": "1",
            }
        ),
    }


def test_full_results_update_ticket_and_create_one_draft():
    message = MessageFactory()
    analysis_save(message_id=message.pk, results=full_results())
    ticket = Ticket.objects.get(pk=message.ticket_id)
    assert ticket.language == "de"
    assert ticket.intent == "damaged"
    assert ticket.priority == Ticket.Priority.HIGH
    assert ticket.sentiment_label == "NEGATIVE"
    assert Analysis.objects.get(message=message, step="sentiment").computed_on == (
        "translation"
    )
    draft = ReplyDraft.objects.get(ticket=ticket)
    assert draft.status == ReplyDraft.Status.DRAFTED
    assert draft.created_by == ReplyDraft.Author.MODEL
    assert draft.in_reply_to_message_id == message.pk
    assert draft.text_customer_language.startswith("Sehr geehrter")
    assert draft.customer_language == "de"


def test_saving_again_refreshes_the_untouched_draft_only():
    message = MessageFactory()
    analysis_save(message_id=message.pk, results=full_results("first"))
    analysis_save(message_id=message.pk, results=full_results("second"))
    assert ReplyDraft.objects.get().text == "second"
    assert Analysis.objects.filter(message=message).count() == 5
    ReplyDraft.objects.update(status=ReplyDraft.Status.APPROVED)
    analysis_save(message_id=message.pk, results=full_results("third"))
    draft = ReplyDraft.objects.get()
    assert draft.text == "second" and draft.status == ReplyDraft.Status.APPROVED


def test_failed_draft_step_creates_no_draft():
    message = MessageFactory()
    results = full_results()
    results["draft"] = outcome(None, error="RuntimeError: boom")
    analysis_save(message_id=message.pk, results=results)
    assert not ReplyDraft.objects.exists()
    message.refresh_from_db()
    assert message.triage_status == Message.TriageStatus.TRIAGED
    assert "draft: RuntimeError: boom" in message.triage_error
