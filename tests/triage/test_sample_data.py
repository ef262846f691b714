"""`manage.py sample_data` (issue 15): the demo's varied tickets, built through
the services, loaded once however often it runs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from triage.models import (
    Analysis,
    AuditEvent,
    BlockedSender,
    Message,
    Notification,
    ReplyDraft,
    Ticket,
    TicketNote,
)
from triage.selectors.pipeline_speed import overview_pipeline_speed

pytestmark = pytest.mark.django_db


def load() -> str:
    out = StringIO()
    call_command("sample_data", stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Ticket,
            Message,
            Analysis,
            AuditEvent,
            ReplyDraft,
            TicketNote,
            Notification,
            BlockedSender,
        )
    } | {"outbox": len(mail.outbox)}


@pytest.mark.django_db(transaction=True)
def test_sample_data_is_varied_and_consistent(settings):
    # Transactional: the triage tasks ingest enqueues on commit run (eagerly) and
    # must find the sample's mails already triaged (no model runs on them).
    settings.TRIAGE_MODELS = {}  # the labels are the sample's fixtures
    out = load()
    assert "Sample data: " in out and "new mail(s)" in out
    assert "added #" in out  # progress, one line per mail

    tickets = Ticket.objects.all()
    assert 30 <= tickets.count() <= 60
    with_history = (
        tickets.values("customer_email")
        .annotate(n=Count("pk"))
        .filter(n__gte=3)
        .count()
    )
    assert with_history >= 3
    assert {"NEGATIVE", "POSITIVE"} <= set(
        tickets.values_list("sentiment_label", flat=True)
    )
    assert len(set(tickets.values_list("intent", flat=True))) >= 6
    assert {"en", "de", "fr", "es"} <= set(tickets.values_list("language", flat=True))
    # Labelled as fixtures wherever models are named, and no model ran.
    assert set(Analysis.objects.values_list("model", flat=True)) == {"sample-data"}
    assert AuditEvent.objects.filter(action="message_triaged").count() == (
        Message.objects.filter(direction="inbound").count()
    )
    # ... so the overview's arrival-to-analysis times have nothing to measure
    # (they once read the demo's backdated mail as two days of waiting).
    assert overview_pipeline_speed()["latency"]["timed"] == 0

    # SLA: the clock started when each mail arrived, so old unanswered mail is
    # breached (the overdue one among them), and the newest is still on track.
    now = timezone.now()
    open_tickets = tickets.exclude(status="closed").exclude(is_spam=True)
    breached = {t.customer_email for t in open_tickets.filter(due_at__lt=now)}
    assert "tom.baker@example.co.uk" in breached
    assert open_tickets.filter(due_at__gte=now).exists()
    assert not open_tickets.filter(due_at__isnull=True).exists()
    # Spam: the marked ticket with its sender blocked, and the sender's next mail
    # stored but closed as spam on arrival.
    spam = tickets.filter(is_spam=True).order_by("pk")
    assert spam.count() == 2 and {t.status for t in spam} == {"closed"}
    assert BlockedSender.objects.filter(email="winner@prizes.example").exists()
    assert AuditEvent.objects.filter(action="blocked_sender_closed").count() == 1

    note = TicketNote.objects.get()
    assert note.author.username == "alice" and "@bruno" in note.body
    assert Notification.objects.get().recipient.username == "bruno"
    waiting = ReplyDraft.objects.get(status=ReplyDraft.Status.DRAFTED)
    assert waiting.created_by == ReplyDraft.Author.AGENT
    sent = ReplyDraft.objects.get(status=ReplyDraft.Status.SENT)
    assert sent.approved_by.username == "bruno"
    [reply] = mail.outbox
    assert reply.to == ["jean.dupont@example.fr"]
    assert tickets.filter(assigned_to__username="alice").count() == 4
    # History has a past: the tickets were opened over two weeks.
    oldest = tickets.order_by("created_at").first().created_at
    assert (timezone.now() - oldest).days >= 12


def test_sample_data_runs_twice_without_changes(settings):
    settings.TRIAGE_MODELS = {}
    load()
    before = snapshot()
    out = load()
    assert snapshot() == before
    assert "0 new mail(s), 0 change(s) (already loaded)" in out
