"""The dashboard, first cut, through Django's test client (browser tests: e2e)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_eml
from triage.models import Analysis, Ticket
from triage.selectors import highlight_segments
from triage.services import analysis_save, email_ingest

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _triaged(body: str, *, tiny: bool = False, label: str = "NEGATIVE") -> Ticket:
    message = email_ingest(make_eml(body=body, message_id=None), source="t").message
    start = body.index("Amazon")
    answer_at = body.index("an exchange")
    analysis_save(
        message_id=message.pk,
        results={
            "sentiment": {"result": {"label": label, "score": 0.9}, "model": "m"},
            "entities": {
                "result": [
                    {
                        "label": "ORG",
                        "text": "Amazon",
                        "start": start,
                        "end": start + 6,
                        "score": 0.99,
                    }
                ],
                "model": "m",
                "tiny": tiny,
            },
            "answer": {
                "result": {
                    "question": "What does the customer want?",
                    "answer": "an exchange",
                    "score": 0.6,
                    "start": answer_at,
                    "end": answer_at + len("an exchange"),
                },
                "model": "m",
            },
        },
    )
    return message.ticket


def test_changelist_shows_sentiment_answer_and_filters(admin_client):
    negative = _triaged("Dear Amazon, I demand an exchange now.")
    _triaged("Dear Amazon, thanks! I want an exchange.", label="POSITIVE")
    url = reverse("admin:triage_ticket_changelist")
    page = admin_client.get(url).content.decode()
    assert "NEGATIVE 0.90" in page and "POSITIVE 0.90" in page
    assert "an exchange" in page
    filtered = admin_client.get(url, {"sentiment_label": "NEGATIVE"}).content.decode()
    assert f"/admin/triage/ticket/{negative.pk}/change/" in filtered
    assert "POSITIVE 0.90" not in filtered


def test_detail_highlights_entities_and_answer_and_escapes_email(admin_client):
    ticket = _triaged(f"Dear Amazon, {XSS} I demand an exchange of Megatron.")
    response = admin_client.get(reverse("admin:triage_ticket_change", args=[ticket.pk]))
    page = response.content.decode()
    assert '<mark class="ent ent-ORG" title="ORG">Amazon</mark>' in page
    assert (
        '<mark class="answer" title="What the customer wants">an exchange</mark>'
        in page
    )
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert 'id="tiny-warning"' not in page


def test_tiny_models_show_a_plain_warning(admin_client):
    ticket = _triaged("Dear Amazon, I demand an exchange.", tiny=True)
    assert Analysis.objects.filter(is_tiny=True).exists()
    for url in (
        reverse("admin:triage_ticket_changelist"),
        reverse("admin:triage_ticket_change", args=[ticket.pk]),
    ):
        page = admin_client.get(url).content.decode()
        assert 'id="tiny-warning"' in page and "meaningless" in page


def test_failed_step_is_visible_on_the_ticket(admin_client):
    message = email_ingest(make_eml(), source="t").message
    analysis_save(
        message_id=message.pk,
        results={
            "sentiment": {"result": None, "error": "OSError: model not found"},
            "answer": {"result": {"answer": "", "score": 0.0, "start": 0, "end": 0}},
        },
    )
    page = admin_client.get(
        reverse("admin:triage_ticket_change", args=[message.ticket_id])
    ).content.decode()
    assert "sentiment failed" in page and "OSError: model not found" in page


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("admin:triage_ticket_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_highlight_segments_cover_the_text_and_ignore_bad_spans():
    text = "Dear Amazon, I want an exchange of Megatron."
    entities = [
        {"label": "ORG", "start": 5, "end": 11},
        {"label": "PER", "start": 35, "end": 43},
        {"label": "BAD", "start": 40, "end": 999},  # outside the text: ignored
        {"label": "BAD", "start": 9, "end": 3},  # inverted: ignored
    ]
    answer = {"start": 20, "end": 43}
    segments = highlight_segments(text, entities, answer)
    assert "".join(s.text for s in segments) == text
    marked = {(s.text, s.entity, s.answer) for s in segments if s.entity or s.answer}
    assert marked == {
        ("Amazon", "ORG", False),
        ("an exchange of ", "", True),
        ("Megatron", "PER", True),
    }
