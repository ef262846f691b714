"""Mail no model here reads: stored as "not analysed", flagged, routed, shown."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import MessageFactory, TicketFactory, UserFactory
from triage.models import Analysis, ReplyDraft, Ticket
from triage.services import analysis_save

pytestmark = pytest.mark.django_db

REASON = "no model reads German here: install a de→en translation model"
STEPS = ("sentiment", "entities", "answer", "summary", "intent", "draft")


def not_analysed_results(language: str = "de", reason: str = REASON) -> dict:
    results = {
        "language": {
            "result": {"language": language, "confidence": 0.99, "detector": "lingua"},
            "error": None,
            "model": "lingua",
            "on": "original",
            "tiny": False,
        },
        "translation": {
            "result": {
                "source_language": language,
                "target_language": "en",
                "text": "",
                "skipped": True,
                "reason": "failed: no translation model installed",
                "segments": 0,
            },
            "error": "TranslationUnavailable: no translation model installed",
            "model": f"offline:apertium@{language}-en",
            "on": "original",
            "tiny": False,
        },
    }
    for step in STEPS:
        results[step] = {
            "result": None,
            "error": None,
            "model": "m",
            "on": None,
            "tiny": False,
            "not_analysed": reason,
        }
    return results


def test_the_ticket_is_flagged_and_routed_not_guessed(settings):
    settings.TRIAGE_NOT_ANALYSED = {"priority": "urgent", "assignees": {}}
    ticket = TicketFactory(priority=Ticket.Priority.LOW, intent="other")
    message = MessageFactory(ticket=ticket)
    analysis_save(message_id=message.pk, results=not_analysed_results())
    ticket.refresh_from_db()
    assert ticket.not_analysed == REASON
    assert ticket.language == "de"
    assert ticket.priority == Ticket.Priority.URGENT  # the routing's, no model's
    assert ticket.intent == ""
    assert ticket.sentiment_label == ""
    rows = {a.step: a for a in Analysis.objects.filter(message=message)}
    for step in STEPS:
        assert rows[step].not_analysed == REASON
        assert rows[step].error == ""
        assert rows[step].result is None
    assert not ReplyDraft.objects.filter(ticket=ticket).exists()
    message.refresh_from_db()
    assert message.triage_status == message.TriageStatus.TRIAGED


def test_routing_assigns_an_agent_who_reads_the_language(settings):
    hans = UserFactory(username="hans", is_staff=True)
    settings.TRIAGE_NOT_ANALYSED = {"priority": "high", "assignees": {"de": "hans"}}
    message = MessageFactory()
    analysis_save(message_id=message.pk, results=not_analysed_results())
    ticket = Ticket.objects.get(pk=message.ticket_id)
    assert ticket.assigned_to == hans
    assert ticket.priority == Ticket.Priority.HIGH


def test_a_later_analysed_mail_clears_the_flag():
    message = MessageFactory()
    analysis_save(message_id=message.pk, results=not_analysed_results())
    results = not_analysed_results()
    for step in STEPS:
        results[step]["not_analysed"] = None
    results["intent"]["result"] = {
        "label": "damaged",
        "score": 0.9,
        "scores": {},
        "priority": "normal",
        "priority_reasons": [],
    }
    later = MessageFactory(ticket=message.ticket)
    analysis_save(message_id=later.pk, results=results)
    ticket = Ticket.objects.get(pk=message.ticket_id)
    assert ticket.not_analysed == ""
    assert ticket.intent == "damaged"
    assert ticket.priority == Ticket.Priority.NORMAL


@pytest.fixture
def agent(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_list_detail_and_overview_say_not_analysed(client, agent):
    message = MessageFactory()
    analysis_save(message_id=message.pk, results=not_analysed_results())
    analysed = TicketFactory(intent="damaged", sentiment_label="NEGATIVE")
    listing = client.get(reverse("admin:triage_ticket_changelist")).content.decode()
    assert "not analysed" in listing
    assert REASON in listing  # the chip's title says why
    detail = client.get(
        reverse("admin:triage_ticket_change", args=[message.ticket_id])
    ).content.decode()
    assert 'id="not-analysed"' in detail
    assert "German — not analysed" in detail
    assert REASON in detail
    other = client.get(
        reverse("admin:triage_ticket_change", args=[analysed.pk])
    ).content.decode()
    assert 'id="not-analysed"' not in other
    overview = client.get(reverse("triage_overview")).content.decode()
    assert "Not analysed" in overview
    assert "German 1" in overview
