"""The dashboard through Django's test client (the real browser: tests/e2e)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import MessageFactory, ReplyDraftFactory, UserFactory, make_eml
from tests.smtp import SmtpCapture
from triage.models import Analysis, AuditEvent, ReplyDraft, Ticket
from triage.selectors import highlight_segments
from triage.services import analysis_save, email_ingest

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def outcome(result, *, on="original", tiny=False, model="m"):
    return {"result": result, "model": model, "on": on, "tiny": tiny}


def _triaged(
    body: str,
    *,
    tiny: bool = False,
    label: str = "NEGATIVE",
    sender: str = "Ada Customer <ada@example.com>",
    subject: str = "Parcel missing",
    extra: dict | None = None,
) -> Ticket:
    message = email_ingest(
        make_eml(body=body, message_id=None, sender=sender, subject=subject),
        source="t",
    ).message
    start = body.index("Amazon")
    answer_at = body.index("an exchange")
    analysis_save(
        message_id=message.pk,
        results={
            "sentiment": outcome({"label": label, "score": 0.9}),
            "entities": outcome(
                [
                    {
                        "label": "ORG",
                        "text": "Amazon",
                        "start": start,
                        "end": start + 6,
                        "score": 0.99,
                    }
                ],
                tiny=tiny,
            ),
            "answer": outcome(
                {
                    "question": "What does the customer want?",
                    "answer": "an exchange",
                    "score": 0.6,
                    "start": answer_at,
                    "end": answer_at + len("an exchange"),
                }
            ),
            **(extra or {}),
        },
    )
    return Ticket.objects.get(pk=message.ticket_id)


@pytest.fixture
def agent_client(client, roles):
    user = UserFactory(username="agent", groups=[roles["Agents"]])
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def approver_client(client, roles):
    user = UserFactory(username="approver", groups=[roles["Approvers"]])
    client.force_login(user)
    client.user = user
    return client


def change_url(ticket) -> str:
    return reverse("admin:triage_ticket_change", args=[ticket.pk])


def action_url(draft, action: str) -> str:
    return reverse(
        "admin:triage_ticket_draft_action", args=[draft.ticket_id, draft.pk, action]
    )


# --- List ---


def test_changelist_shows_labels_and_filters_on_sentiment(admin_client):
    negative = _triaged("Dear Amazon, I demand an exchange now.")
    _triaged("Dear Amazon, thanks! I want an exchange.", label="POSITIVE")
    url = reverse("admin:triage_ticket_changelist")
    page = admin_client.get(url).content.decode()
    assert "NEGATIVE 0.90" in page and "POSITIVE 0.90" in page
    assert "an exchange" in page
    filtered = admin_client.get(url, {"sentiment": "NEGATIVE"}).content.decode()
    assert f"/admin/triage/ticket/{negative.pk}/change/" in filtered
    assert "POSITIVE 0.90" not in filtered


def test_list_columns_filters_and_default_order(admin_client, roles):
    old_normal = _triaged("Dear Amazon, old: an exchange please.", subject="Old one")
    Ticket.objects.filter(pk=old_normal.pk).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    urgent = _triaged(
        "Dear Amazon, urgent: an exchange!",
        subject="Urgent one",
        extra={
            "language": outcome({"language": "de", "confidence": 0.99}),
            "intent": outcome(
                {"label": "damaged", "score": 0.8, "priority": "urgent"},
                on="translation",
            ),
        },
    )
    new_normal = _triaged("Dear Amazon, new: an exchange please.", subject="New one")
    agent = UserFactory(username="ann", groups=[roles["Agents"]])
    Ticket.objects.filter(pk=new_normal.pk).update(assigned_to=agent)

    url = reverse("admin:triage_ticket_changelist")
    page = admin_client.get(url).content.decode()
    # Priority first, then whoever has waited longest.
    assert page.index("Urgent one") < page.index("Old one") < page.index("New one"), (
        "default order: priority, then oldest first"
    )
    assert 'class="tr-chip tr-prio-1">Urgent<' in page
    assert "damaged" in page and 'title="German"' in page and "DE</span>" in page
    assert "3 d</time>" in page and "ann" in page

    def ids(**params) -> set[int]:
        response = admin_client.get(url, params)
        return {t.pk for t in response.context["cl"].result_list}

    assert ids(intent="damaged") == {urgent.pk}
    assert ids(language="de") == {urgent.pk}
    assert ids(priority__exact=Ticket.Priority.URGENT) == {urgent.pk}
    assert ids(assigned="nobody") == {urgent.pk, old_normal.pk}
    assert ids(q="new:") == {new_normal.pk}  # words of the body are searched
    assert ids(q="ada@example.com") == {urgent.pk, old_normal.pk, new_normal.pk}


def test_assigned_to_me_filter_and_action(client, roles):
    agent = UserFactory(username="me", groups=[roles["Agents"]])
    client.force_login(agent)
    mine, other = MessageFactory().ticket, MessageFactory().ticket
    url = reverse("admin:triage_ticket_changelist")
    response = client.post(
        url, {"action": "assign_to_me", "_selected_action": [mine.pk]}
    )
    assert response.status_code == 302
    response = client.get(url, {"assigned": "me"})
    assert [t.pk for t in response.context["cl"].result_list] == [mine.pk]
    assert other.pk not in {t.pk for t in response.context["cl"].result_list}
    event = AuditEvent.objects.get(ticket=mine, action="ticket_assigned")
    assert event.actor == agent and event.detail == {"assigned_to": "me"}


# --- Detail ---


ORG_ATTRS = 'title="organisation (ORG)" data-sr-after=" (organisation)"'
ANSWER_ATTRS = (
    'title="what the customer wants" data-sr-before="what the customer wants: " '
    'data-sr-after=" (end of what the customer wants)"'
)


def test_detail_highlights_entities_and_answer_and_escapes_email(admin_client):
    ticket = _triaged(f"Dear Amazon, {XSS} I demand an exchange of Megatron.")
    response = admin_client.get(change_url(ticket))
    page = response.content.decode()
    # The type in words too (dashboard.css prints data-sr-* for screen readers).
    assert f'<mark class="ent ent-ORG" {ORG_ATTRS}>Amazon</mark>' in page
    assert f'<mark class="answer" {ANSWER_ATTRS}>an exchange</mark>' in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert 'id="tiny-warning"' not in page


def test_translation_side_by_side_with_marks_on_the_text_they_refer_to(admin_client):
    original = "Sehr geehrte Damen und Herren, die Kaffeemaschine von Acme ist kaputt."
    english = "Dear Sir or Madam, the coffee machine from Acme is broken."
    message = email_ingest(make_eml(body=original, message_id=None), source="t")
    at = english.index("Acme")
    analysis_save(
        message_id=message.message.pk,
        results={
            "language": outcome({"language": "de", "confidence": 0.98}),
            "translation": outcome(
                {
                    "source_language": "de",
                    "target_language": "en",
                    "text": english,
                    "skipped": False,
                    "reason": None,
                    "segments": 1,
                },
                model="Helsinki-NLP/opus-mt-de-en",
            ),
            "entities": outcome(
                [{"label": "ORG", "text": "Acme", "start": at, "end": at + 4}],
                on="translation",
            ),
            "answer": outcome(
                {"answer": "broken", "score": 0.5, "start": at + 8, "end": at + 14},
                on="translation",
            ),
            "summary": outcome(
                {"summary": "A broken coffee machine.", "skipped": False}
            ),
            "intent": outcome(
                {
                    "label": "damaged",
                    "score": 0.81,
                    "scores": {"damaged": 0.81, "refund": 0.12},
                    "priority": "high",
                    "priority_reasons": ["damaged item"],
                }
            ),
        },
    )
    page = admin_client.get(change_url(message.message.ticket)).content.decode()
    original_col = page[
        page.index("triage-original") : page.index("triage-translation")
    ]
    translation_col = page[page.index("triage-translation") :]
    assert "Kaffeemaschine von Acme" in original_col and "<mark" not in original_col
    assert f'<mark class="ent ent-ORG" {ORG_ATTRS}>Acme</mark>' in translation_col
    assert f'<mark class="answer" {ANSWER_ATTRS}>broken</mark>' in translation_col
    assert "English translation" in page and "German" in page
    assert "A broken coffee machine." in page
    assert "damaged item" in page and "High" in page
    assert "Helsinki-NLP/opus-mt-de-en" in page  # model ids used


def test_html_mail_is_shown_only_in_a_sandboxed_frame(admin_client):
    message = MessageFactory(
        html_body='<p>Hello <b>there</b></p><img src="https://tracker.example/x.gif">',
        text_body="Hello there",
    )
    page = admin_client.get(change_url(message.ticket)).content.decode()
    assert '<iframe sandbox="" srcdoc="&lt;p&gt;Hello &lt;b&gt;there' in page
    assert "<b>there</b>" not in page  # never as live markup on the page


def test_tiny_models_show_a_plain_warning(admin_client):
    ticket = _triaged("Dear Amazon, I demand an exchange.", tiny=True)
    assert Analysis.objects.filter(is_tiny=True).exists()
    for url in (reverse("admin:triage_ticket_changelist"), change_url(ticket)):
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
    page = admin_client.get(change_url(message.ticket)).content.decode()
    assert "sentiment failed" in page and "OSError: model not found" in page


def test_page_degrades_without_any_analysis_or_draft(agent_client):
    message = MessageFactory(text_body="Plain mail, not triaged yet.")
    response = agent_client.get(change_url(message.ticket))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Plain mail, not triaged yet." in page
    assert "No answer extracted." in page and "No summary." in page
    assert 'id="draft-new"' in page  # an agent can write the reply by hand


# --- The draft box and the roles ---


def test_agent_edits_the_draft_but_sees_no_approve_button(agent_client):
    draft = ReplyDraftFactory()
    page = agent_client.get(change_url(draft.ticket)).content.decode()
    assert 'name="text"' in page and "Save draft" in page
    assert "Approve and send" not in page and "Waiting for an approver" in page

    response = agent_client.post(
        action_url(draft, "edit"), {"text": "Dear Ada, a new parcel is on its way."}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.text == "Dear Ada, a new parcel is on its way."
    page = agent_client.get(change_url(draft.ticket)).content.decode()
    assert "Draft saved." in page and "Draft edited" in page  # audit on the ticket


def test_agent_gets_403_on_approve_by_direct_post(agent_client, settings):
    with SmtpCapture() as smtp:
        smtp.configure(settings)
        draft = ReplyDraftFactory()
        response = agent_client.post(action_url(draft, "approve"), {"version": "x"})
        assert response.status_code == 403
        response = agent_client.post(action_url(draft, "reject"), {"reason": "no"})
        assert response.status_code == 403
        assert smtp.received == []
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.DRAFTED


def test_approver_approves_on_the_page_and_one_email_goes_out(
    approver_client, settings, django_capture_on_commit_callbacks
):
    draft = ReplyDraftFactory()
    page = approver_client.get(change_url(draft.ticket)).content.decode()
    assert "Approve and send" in page and "Reject" in page
    version = approver_client.get(change_url(draft.ticket)).context["drafts"][0].version
    with SmtpCapture() as smtp:
        smtp.configure(settings)
        for _ in range(2):  # a double click
            with django_capture_on_commit_callbacks(execute=True):
                response = approver_client.post(
                    action_url(draft, "approve"), {"version": version}
                )
            assert response.status_code == 302
        assert len(smtp.received) == 1
        assert smtp.received[0].rcpt_tos == [draft.ticket.customer_email]
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.SENT
    page = approver_client.get(change_url(draft.ticket)).content.decode()
    assert "Reply sent" in page and "Reply approved" in page


def test_approver_rejects_with_a_reason(approver_client):
    draft = ReplyDraftFactory()
    response = approver_client.post(action_url(draft, "reject"), {"reason": ""})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.DRAFTED  # a reason is required
    approver_client.post(action_url(draft, "reject"), {"reason": "Wrong tone."})
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.REJECTED
    page = approver_client.get(change_url(draft.ticket)).content.decode()
    assert "Wrong tone." in page


def test_agent_writes_a_reply_when_there_is_no_draft(agent_client):
    message = MessageFactory()
    response = agent_client.post(
        reverse("admin:triage_ticket_draft_create", args=[message.ticket_id]),
        {"text": "Dear customer, we are on it."},
    )
    assert response.status_code == 302
    draft = ReplyDraft.objects.get(ticket=message.ticket)
    assert draft.created_by == ReplyDraft.Author.AGENT
    assert draft.author == agent_client.user
    assert draft.in_reply_to_message == message


def test_draft_urls_check_the_ticket_and_the_method(approver_client):
    draft = ReplyDraftFactory()
    other = MessageFactory().ticket
    wrong = reverse(
        "admin:triage_ticket_draft_action", args=[other.pk, draft.pk, "approve"]
    )
    assert approver_client.post(wrong).status_code == 404
    assert approver_client.get(action_url(draft, "approve")).status_code == 405
    assert approver_client.post(action_url(draft, "send")).status_code == 404


def test_reply_draft_admin_cannot_change_a_draft(approver_client):
    draft = ReplyDraftFactory()
    url = reverse("admin:triage_replydraft_change", args=[draft.pk])
    assert approver_client.get(url).status_code == 200  # view only
    response = approver_client.post(url, {"status": "approved", "text": "x"})
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.DRAFTED


def test_ticket_form_saves_through_the_service_with_an_audit(agent_client):
    ticket = MessageFactory().ticket
    response = agent_client.post(
        change_url(ticket),
        {
            "status": Ticket.Status.WAITING,
            "priority": Ticket.Priority.HIGH,
            "assigned_to": "",
            "due_at_0": "",
            "due_at_1": "",
            "agent_sentiment": "NEGATIVE",
            "agent_intent": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.HIGH
    assert ticket.labels_corrected_by == agent_client.user
    event = AuditEvent.objects.get(ticket=ticket, action="ticket_updated")
    assert event.detail == {
        "status": "waiting",
        "priority": 2,
        "agent_sentiment": "NEGATIVE",
    }


def test_security_headers_on_every_admin_page(client, admin_client):
    for c, url in (
        (client, reverse("admin:login")),
        (admin_client, reverse("admin:triage_ticket_changelist")),
        (admin_client, reverse("triage_overview")),
    ):
        response = c.get(url)
        assert response.status_code == 200
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "object-src 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert response["X-Frame-Options"] == "DENY"


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
