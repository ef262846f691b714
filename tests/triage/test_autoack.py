"""Auto-acknowledgement (issue 15 item 7), sent to a real SMTP server.

Ingest publishes the task after commit; tasks run in-process here, so the
receipt (or its absence) is in the server's inbox when the ingest returns.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.db import IntegrityError, transaction

from tests.factories import UserFactory
from tests.smtp import SmtpCapture, free_port
from triage.models import AuditEvent, AutoAck, Message, Ticket
from triage.services import email_ingest, roles_sync
from triage.services.autoack import AckOutcome, autoack_send
from triage.services.spam import ticket_mark_spam

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    settings.TRIAGE_MODELS = {}
    settings.TRIAGE_AUTOACK = True
    settings.TRIAGE_AUTOACK_MAX_PER_SENDER_HOUR = 3
    with SmtpCapture() as capture:
        capture.configure(settings)
        yield capture


def eml(
    n: int,
    *,
    sender: str = "Kim Lee <kim@example.com>",
    subject: str = "Parcel",
    headers: dict[str, str] | None = None,
    in_reply_to: str = "",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@example-shop.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<ack-test-{n}@example.com>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content("Where is my parcel?")
    return msg.as_bytes()


@pytest.fixture
def ingest(django_capture_on_commit_callbacks):
    def run(raw: bytes) -> Message:
        with django_capture_on_commit_callbacks(execute=True):
            return email_ingest(raw, source="t").message

    return run


def test_a_new_ticket_gets_exactly_one_receipt(smtp, ingest):
    first = ingest(eml(1))
    ticket = first.ticket

    assert len(smtp.received) == 1
    mail = smtp.received[0].message
    assert smtp.received[0].rcpt_tos == ["kim@example.com"]
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["In-Reply-To"] == "<ack-test-1@example.com>"
    assert f"[#{ticket.pk}]" in mail["Subject"]
    assert "Kim Lee" in mail.get_content()
    ack = AutoAck.objects.get(ticket=ticket)
    assert ack.status == AutoAck.Status.SENT
    assert ack.message.direction == Message.Direction.OUTBOUND
    assert ack.message.message_id == mail["Message-ID"]
    assert AuditEvent.objects.filter(ticket=ticket, action="autoack_sent").count() == 1
    # The receipt is no reply: the first-response clock still runs.
    assert Ticket.objects.get(pk=ticket.pk).first_response_at is None

    # The customer writes again in the same ticket: no second receipt.
    again = ingest(eml(2, in_reply_to="<ack-test-1@example.com>"))
    assert again.ticket_id == ticket.pk
    # ... nor from a retried or duplicated task.
    assert autoack_send(ticket.pk) == AckOutcome.ALREADY
    assert len(smtp.received) == 1
    assert AutoAck.objects.count() == 1


def test_the_database_refuses_a_second_receipt_row(smtp, ingest):
    ticket = ingest(eml(1)).ticket
    with pytest.raises(IntegrityError), transaction.atomic():
        AutoAck.objects.create(ticket=ticket, to_address="kim@example.com")


@pytest.mark.parametrize(
    ("sender", "headers", "reason"),
    [
        ("kim@example.com", {"Auto-Submitted": "auto-replied"}, "Auto-Submitted"),
        ("kim@example.com", {"Auto-Submitted": "auto-generated"}, "Auto-Submitted"),
        ("kim@example.com", {"Precedence": "bulk"}, "Precedence: bulk"),
        ("kim@example.com", {"Precedence": "list"}, "Precedence: list"),
        ("kim@example.com", {"Precedence": "junk"}, "Precedence: junk"),
        ("kim@example.com", {"List-Id": "<news.example.com>"}, "List-Id"),
        (
            "kim@example.com",
            {"List-Unsubscribe": "<mailto:leave@example.com>"},
            "List-Unsubscribe",
        ),
        ("kim@example.com", {"X-Auto-Response-Suppress": "OOF, AutoReply"}, "X-Auto"),
        ("kim@example.com", {"Return-Path": "<>"}, "Return-Path"),
        ("MAILER-DAEMON@mx.example.com", {}, "automated sender"),
        ("postmaster@example.com", {}, "automated sender"),
        ("no-reply@shop.example", {}, "automated sender"),
        ("noreply@shop.example", {}, "automated sender"),
        ("news-bounces@lists.example", {}, "automated sender"),
        ("support@example-shop.test", {}, "our own address"),
    ],
)
def test_automated_mail_gets_no_receipt(smtp, ingest, sender, headers, reason):
    ticket = ingest(eml(1, sender=sender, headers=headers)).ticket
    assert smtp.received == []
    assert not AutoAck.objects.exists()
    skipped = AuditEvent.objects.get(ticket=ticket, action="autoack_skipped")
    assert reason in skipped.detail["reason"]


def test_auto_submitted_no_is_a_person(smtp, ingest):
    ingest(eml(1, headers={"Auto-Submitted": "no"}))
    assert len(smtp.received) == 1


def test_rate_limit_per_sender(smtp, ingest, settings):
    settings.TRIAGE_AUTOACK_MAX_PER_SENDER_HOUR = 2
    tickets = [ingest(eml(n, subject=f"Question {n}")).ticket for n in range(1, 4)]
    assert len({t.pk for t in tickets}) == 3  # three new tickets
    assert len(smtp.received) == 2
    assert AuditEvent.objects.filter(
        ticket=tickets[2], action="autoack_rate_limited"
    ).exists()
    # The limit is per sender: someone else still gets their receipt.
    ingest(eml(9, sender="ada@example.org"))
    assert [r.rcpt_tos for r in smtp.received][-1] == ["ada@example.org"]


def test_no_receipt_for_a_blocked_sender(smtp, ingest):
    agent = UserFactory(groups=[roles_sync()["Agents"]])
    first = ingest(eml(1, sender="win@prizes.example"))
    ticket_mark_spam(ticket_id=first.ticket_id, user=agent, block_sender=True)
    later = ingest(eml(2, sender="win@prizes.example", subject="Again"))
    assert later.ticket_id != first.ticket_id
    assert [r.rcpt_tos for r in smtp.received] == [["win@prizes.example"]]
    assert not AutoAck.objects.filter(ticket_id=later.ticket_id).exists()


def test_off_by_default(settings, ingest):
    from triage import settings as defaults

    assert defaults.TRIAGE_AUTOACK is False
    settings.TRIAGE_AUTOACK = False
    with SmtpCapture() as capture:
        capture.configure(settings)
        ingest(eml(1))
        assert capture.received == []
    assert not AutoAck.objects.exists()


def test_an_smtp_failure_releases_the_claim_for_the_retry(smtp, settings, ingest):
    settings.EMAIL_PORT = free_port()  # nothing listens: connection refused
    ticket = ingest(eml(1)).ticket  # the eager task fails; ingest does not
    assert not AutoAck.objects.exists()
    assert AuditEvent.objects.filter(ticket=ticket, action="autoack_error").exists()

    settings.EMAIL_PORT = smtp.port  # the task's retry
    assert autoack_send(ticket.pk) == AckOutcome.SENT
    assert autoack_send(ticket.pk) == AckOutcome.ALREADY
    assert len(smtp.received) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_receipt_per_ticket_and_keep_the_limit(
    settings,
):
    """Real concurrency on PostgreSQL: the ticket's row lock and unique claim,
    and the per-sender lock around the rate limit's count."""
    import threading

    from django.db import connection as main_connection
    from django.db import connections

    from tests.ci import NO_POSTGRES, need

    need(main_connection.vendor == "postgresql", NO_POSTGRES)
    settings.TRIAGE_MODELS = {}
    settings.TRIAGE_AUTOACK = False  # ingest publishes nothing; the threads send
    a = email_ingest(eml(1, subject="One"), source="t").message.ticket_id
    b = email_ingest(eml(2, subject="Two"), source="t").message.ticket_id
    settings.TRIAGE_AUTOACK = True
    settings.TRIAGE_AUTOACK_MAX_PER_SENDER_HOUR = 1
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def worker(ticket_id: int) -> None:
        try:
            start.wait()
            outcomes.append(str(autoack_send(ticket_id)))
        finally:
            connections.close_all()

    with SmtpCapture() as smtp:
        smtp.configure(settings)
        threads = [threading.Thread(target=worker, args=(t,)) for t in (a, a, b, b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(smtp.received) == 1
    assert sorted(outcomes).count("sent") == 1
    assert AutoAck.objects.count() == 1
    assert AuditEvent.objects.filter(action="autoack_sent").count() == 1
