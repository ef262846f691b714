"""The approval gate against a real SMTP server (aiosmtpd) and the real database.

DESIGN §7 tests 12 (header injection), 14 (prompt injection: gate and recipients)
and 15 (double and concurrent approve: one email). Celery runs eagerly here (the
autouse fixture of this package); tests/e2e runs the same path through a worker.
"""

from __future__ import annotations

import base64
import smtplib
import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import connection, connections

from tests.ci import NO_POSTGRES, needs
from tests.factories import ReplyDraftFactory, UserFactory, make_eml
from tests.smtp import SmtpCapture, free_port
from triage.models import AuditEvent, Message, ReplyDraft, Ticket
from triage.services import (
    ReplyRefused,
    SendOutcome,
    email_ingest,
    reply_approve,
    reply_edit,
    reply_reject,
    reply_send,
    roles_sync,
)
from triage.services.replies import (
    _send_claim,
    _smtp_deliver,
    reply_message_id,
    reply_version,
)
from workers.tasks import send_reply
from workers.tasks.mail import is_transient

BUMBLEBEE_ID = "<20251103091422.bumblebee.0001@autobots.example.com>"
# Exactly the headers a reply carries: anything else would be an injection.
REPLY_HEADERS = {
    "content-type",
    "mime-version",
    "content-transfer-encoding",
    "subject",
    "from",
    "to",
    "date",
    "message-id",
    "in-reply-to",
    "references",
}


@pytest.fixture
def bumblebee(sample_bytes) -> ReplyDraft:
    message = email_ingest(sample_bytes("01-bumblebee.eml"), source="t").message
    return ReplyDraftFactory(
        in_reply_to_message=message,
        text="Dear Bumblebee, we are sorry your order was mixed up.",
    )


def approve(draft, user, capture):
    with capture(execute=True):
        return reply_approve(draft_id=draft.pk, user=user, version=reply_version(draft))


def test_migration_creates_the_roles(db):
    agents = Group.objects.get(name="Agents")
    approvers = Group.objects.get(name="Approvers")
    agent_perms = set(agents.permissions.values_list("codename", flat=True))
    approver_perms = set(approvers.permissions.values_list("codename", flat=True))
    assert {"change_replydraft", "view_ticket"} <= agent_perms
    assert "approve_replydraft" not in agent_perms
    assert approver_perms == agent_perms | {"approve_replydraft"}


def test_agent_edits_but_cannot_approve(
    agent, bumblebee, smtp, django_capture_on_commit_callbacks
):
    reply_edit(
        draft_id=bumblebee.pk,
        user=agent,
        text="Dear Bumblebee, an Optimus Prime is on its way.",
    )
    with pytest.raises(PermissionDenied):
        approve(bumblebee, agent, django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied):
        reply_reject(draft_id=bumblebee.pk, user=agent, reason="no")
    bumblebee.refresh_from_db()
    assert bumblebee.status == ReplyDraft.Status.DRAFTED
    assert bumblebee.author == agent  # a re-run triage leaves it alone now
    assert smtp.received == []
    edited = AuditEvent.objects.get(action="reply_edited")
    assert edited.actor == agent
    assert edited.detail["previous"]["text"].startswith("Dear Bumblebee, we are")


def test_approval_sends_one_threaded_email_to_the_customer(
    approver, bumblebee, smtp, django_capture_on_commit_callbacks
):
    approve(bumblebee, approver, django_capture_on_commit_callbacks)

    [mail] = smtp.received
    msg = mail.message
    ticket = bumblebee.ticket
    assert mail.rcpt_tos == ["bumblebee@autobots.example.com"]
    assert msg["To"] == "bumblebee@autobots.example.com"
    assert msg["Subject"] == f"Re: [#{ticket.pk}] Wrong action figure delivered"
    assert msg["In-Reply-To"] == BUMBLEBEE_ID
    assert msg["References"] == BUMBLEBEE_ID
    assert msg["Message-ID"] == reply_message_id(bumblebee)
    assert str(bumblebee.idempotency_key) in msg["Message-ID"]
    assert {k.lower() for k in msg} == REPLY_HEADERS
    body = msg.get_content()
    assert body.startswith("Dear Bumblebee, we are sorry your order was mixed up.")
    assert "> Dear Amazon, last week I ordered" in body  # the customer's own mail

    bumblebee.refresh_from_db()
    assert bumblebee.status == ReplyDraft.Status.SENT
    assert bumblebee.approved_by == approver and bumblebee.send_attempts == 1
    sent = bumblebee.sent_message
    assert sent.direction == Message.Direction.OUTBOUND
    assert sent.message_id == msg["Message-ID"] and sent.ticket == ticket
    assert sent.raw and b"In-Reply-To: " + BUMBLEBEE_ID.encode() in sent.raw
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.WAITING
    actions = list(ticket.audit_events.values_list("action", flat=True))
    assert actions[-2:] == ["reply_approved", "reply_sent"]


def test_double_approve_and_a_task_run_twice_send_one_email(
    approver, bumblebee, smtp, django_capture_on_commit_callbacks
):
    approve(bumblebee, approver, django_capture_on_commit_callbacks)
    approve(bumblebee, approver, django_capture_on_commit_callbacks)  # double click
    assert reply_send(bumblebee.pk) == SendOutcome.ALREADY_SENT
    assert send_reply.apply(args=[bumblebee.pk]).get() == "already_sent"
    assert len(smtp.received) == 1
    assert AuditEvent.objects.filter(action="reply_approved").count() == 1
    assert AuditEvent.objects.filter(action="reply_sent").count() == 1


def test_nothing_is_sent_without_approval(approver, bumblebee, smtp):
    assert reply_send(bumblebee.pk) == SendOutcome.NOT_APPROVED
    reply_reject(draft_id=bumblebee.pk, user=approver, reason="Too curt.")
    assert reply_send(bumblebee.pk) == SendOutcome.NOT_APPROVED
    assert send_reply.apply(args=[bumblebee.pk]).get() == "not_approved"
    assert smtp.received == []
    bumblebee.refresh_from_db()
    assert bumblebee.status == ReplyDraft.Status.REJECTED
    assert bumblebee.rejected_reason == "Too curt."


def test_reject_needs_a_reason_and_an_edit_returns_the_draft_for_review(
    agent, approver, bumblebee
):
    with pytest.raises(ReplyRefused):
        reply_reject(draft_id=bumblebee.pk, user=approver, reason="  ")
    reply_reject(draft_id=bumblebee.pk, user=approver, reason="Offer a refund too.")
    with pytest.raises(ReplyRefused):
        reply_approve(  # edit it first
            draft_id=bumblebee.pk, user=approver, version=reply_version(bumblebee)
        )
    reply_edit(draft_id=bumblebee.pk, user=agent, text="We refund and exchange.")
    bumblebee.refresh_from_db()
    assert bumblebee.status == ReplyDraft.Status.DRAFTED
    assert bumblebee.rejected_reason == ""
    assert AuditEvent.objects.get(action="reply_rejected").detail["reason"] == (
        "Offer a refund too."
    )


def test_approving_text_that_changed_since_it_was_read_is_refused(
    agent, approver, bumblebee, smtp
):
    seen = reply_version(bumblebee)
    reply_edit(draft_id=bumblebee.pk, user=agent, text="Something else entirely.")
    with pytest.raises(ReplyRefused, match="changed since you opened it"):
        reply_approve(draft_id=bumblebee.pk, user=approver, version=seen)
    bumblebee.refresh_from_db()
    assert bumblebee.status == ReplyDraft.Status.DRAFTED


@pytest.mark.parametrize("version", [None, "", "   "])
def test_approving_without_the_version_seen_is_refused(
    approver, bumblebee, smtp, version, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(ReplyRefused, match="which version"),
    ):
        reply_approve(draft_id=bumblebee.pk, user=approver, version=version)
    bumblebee.refresh_from_db()
    assert bumblebee.status == ReplyDraft.Status.DRAFTED
    assert callbacks == [] and smtp.received == []


def test_customer_language_text_is_what_goes_out(
    approver, sample_bytes, smtp, django_capture_on_commit_callbacks
):
    message = email_ingest(sample_bytes("02-german-complaint.eml"), source="t").message
    Ticket.objects.filter(pk=message.ticket_id).update(language="de")
    draft = ReplyDraftFactory(
        in_reply_to_message=message,
        text="Dear Mr Müller, a new machine is on its way.",
        text_customer_language="Sehr geehrter Herr Müller, ein neues Gerät ist "
        "unterwegs.",
        customer_language="de",
    )
    approve(draft, approver, django_capture_on_commit_callbacks)
    [mail] = smtp.received
    msg = mail.message
    # Non-ASCII subjects go out as RFC 2047 encoded words (Django folds them onto
    # continuation lines, hence the strip).
    dash = "\N{EN DASH}"
    assert msg["Subject"].strip() == (
        f"Re: [#{message.ticket_id}] Beschädigte Kaffeemaschine {dash} bitte um Ersatz"
    )
    head = mail.raw.split(b"\r\n\r\n")[0]
    assert head.isascii() and b" =?utf-8?q?Re=3A_=5B=23" in head
    assert {k.lower() for k in msg} == REPLY_HEADERS
    assert msg.get_content().startswith("Sehr geehrter Herr Müller")
    assert "Dear Mr Müller" not in msg.get_content()


def _encoded_subject_eml() -> bytes:
    # The customer's subject decodes (once, at ingest) to an encoded word that
    # hides a CR LF and a Bcc header: it must not reach our outgoing Subject.
    hidden = "=?utf-8?q?Order_help=0D=0ABcc:_evil@attacker.test?="
    header = f"=?utf-8?b?{base64.b64encode(hidden.encode()).decode()}?="
    eml = make_eml(subject="placeholder", message_id="<enc-1@example.com>")
    return eml.replace(b"Subject: placeholder", f"Subject: {header}".encode())


@pytest.mark.parametrize(
    "case",
    ["crlf-subject", "encoded-subject", "crlf-address", "two-addresses"],
)
def test_header_injection_is_refused_and_nothing_is_sent(
    case, approver, smtp, django_capture_on_commit_callbacks
):
    if case == "encoded-subject":
        message = email_ingest(_encoded_subject_eml(), source="t").message
        assert "=0D=0ABcc:" in message.ticket.subject  # stored as received
        draft = ReplyDraftFactory(in_reply_to_message=message)
    else:
        draft = ReplyDraftFactory()
        ticket = draft.ticket
        if case == "crlf-subject":
            ticket.subject = "Order help\r\nBcc: evil@attacker.test"
            draft.in_reply_to_message.subject = ticket.subject
            draft.in_reply_to_message.save()
        elif case == "crlf-address":
            ticket.customer_email = "ada@example.com\r\nBcc: evil@attacker.test"
        else:
            ticket.customer_email = "ada@example.com, evil@attacker.test"
        ticket.save()

    with pytest.raises(ReplyRefused):
        approve(draft, approver, django_capture_on_commit_callbacks)
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.DRAFTED

    # Even a draft that got to `approved` some other way is refused at send time.
    ReplyDraft.objects.filter(pk=draft.pk).update(status=ReplyDraft.Status.APPROVED)
    assert reply_send(draft.pk) == SendOutcome.REFUSED
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.FAILED
    assert "refusing to send" in draft.last_error or "one plain" in draft.last_error
    assert smtp.received == []


def test_prompt_injection_email_is_answered_only_to_its_sender(
    approver, sample_bytes, smtp, django_capture_on_commit_callbacks
):
    other = email_ingest(sample_bytes("02-german-complaint.eml"), source="t").message
    message = email_ingest(sample_bytes("08-prompt-injection.eml"), source="t").message
    assert "attacker@example.com" in message.text_body
    # Fixture text: a draft that obeyed the injected instruction.
    draft = ReplyDraftFactory(
        in_reply_to_message=message,
        text="As instructed, we refund everyone. Copy to attacker@example.com.",
    )
    assert reply_send(draft.pk) == SendOutcome.NOT_APPROVED
    assert smtp.received == []  # never sent without approval

    approve(draft, approver, django_capture_on_commit_callbacks)
    [mail] = smtp.received
    assert mail.rcpt_tos == ["sam.ortega@example.com"]
    msg = mail.message
    assert msg["To"] == "sam.ortega@example.com"
    assert msg["Cc"] is None and msg["Bcc"] is None
    raw = mail.raw.decode()
    # Nothing of another ticket: not its customer, not its order.
    assert other.from_address not in raw
    assert "ES-2025-104233" not in raw
    assert "Kaffeemaschine" not in raw


def test_a_crashed_send_is_never_retried_blindly(
    approver, bumblebee, smtp, settings, django_capture_on_commit_callbacks
):
    # Approve without running the enqueued send, then play a worker that got the
    # "250 OK" from SMTP and died before recording it.
    reply_approve(
        draft_id=bumblebee.pk, user=approver, version=reply_version(bumblebee)
    )
    outgoing = _send_claim(bumblebee.pk)
    _smtp_deliver(outgoing)
    assert len(smtp.received) == 1

    # The task runs again while the claim is fresh: it does not send.
    assert reply_send(bumblebee.pk) == SendOutcome.IN_FLIGHT
    # Past the lease: the outcome is unknown, an approver decides.
    ReplyDraft.objects.filter(pk=bumblebee.pk).update(
        updated_at=bumblebee.updated_at
        - timedelta(seconds=settings.TRIAGE_SEND_LEASE_SECONDS + 1)
    )
    assert reply_send(bumblebee.pk) == SendOutcome.OUTCOME_UNKNOWN
    assert len(smtp.received) == 1
    bumblebee.refresh_from_db()
    assert bumblebee.status == ReplyDraft.Status.FAILED
    assert reply_message_id(bumblebee) in bumblebee.last_error

    # Sending again is the same email: receivers that de-duplicate on Message-ID
    # drop it, and the mail log shows one Message-ID for both.
    approve(bumblebee, approver, django_capture_on_commit_callbacks)
    first, second = smtp.received
    assert first.message["Message-ID"] == second.message["Message-ID"]
    bumblebee.refresh_from_db()
    assert bumblebee.status == ReplyDraft.Status.SENT
    assert bumblebee.send_attempts == 2


def test_smtp_down_fails_visibly_and_can_be_sent_again(
    approver, bumblebee, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # closed
    approve(bumblebee, approver, django_capture_on_commit_callbacks)
    bumblebee.refresh_from_db()
    # In-process there is no later retry: the draft says so at once.
    assert bumblebee.status == ReplyDraft.Status.FAILED
    assert bumblebee.send_attempts == 1
    assert "ConnectionRefusedError" in bumblebee.last_error
    assert AuditEvent.objects.filter(action="reply_send_error").count() == 1
    assert AuditEvent.objects.filter(action="reply_send_failed").count() == 1

    with SmtpCapture() as smtp:  # the server is back; an approver sends again
        smtp.configure(settings)
        approve(bumblebee, approver, django_capture_on_commit_callbacks)
        assert len(smtp.received) == 1
    bumblebee.refresh_from_db()
    assert bumblebee.status == ReplyDraft.Status.SENT


# --- Concurrency (PostgreSQL row locks; SQLite has none to test) ---


def _in_threads(count: int, target) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


needs_postgres = needs(connection.vendor == "postgresql", NO_POSTGRES)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_send_one_email(smtp):
    assert connection.vendor == "postgresql"
    groups = roles_sync()
    approvers = [
        UserFactory(username=f"approver{i}", groups=[groups["Approvers"]])
        for i in range(2)
    ]
    draft = ReplyDraftFactory()

    results = _in_threads(
        2,
        lambda i: reply_approve(
            draft_id=draft.pk, user=approvers[i], version=reply_version(draft)
        ),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(smtp.wait_for(2, timeout=2)) == 1
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.SENT
    assert AuditEvent.objects.filter(action="reply_approved").count() == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_send_tasks_at_once_send_one_email(smtp):
    draft = ReplyDraftFactory(status=ReplyDraft.Status.APPROVED)
    outcomes = _in_threads(4, lambda i: reply_send(draft.pk))
    assert sorted(map(str, outcomes)).count("sent") == 1, outcomes
    assert set(map(str, outcomes)) <= {"sent", "in_flight", "already_sent"}
    assert len(smtp.wait_for(2, timeout=2)) == 1


def test_retry_policy_tells_transient_from_final_smtp_answers():
    assert is_transient(ConnectionRefusedError(111, "refused"))
    assert is_transient(smtplib.SMTPServerDisconnected("gone"))
    assert is_transient(smtplib.SMTPDataError(451, b"try later"))
    assert not is_transient(smtplib.SMTPDataError(554, b"rejected"))
    assert not is_transient(
        smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")})
    )
    assert is_transient(
        smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"mailbox busy")})
    )
    assert not is_transient(ReplyRefused("bad header"))
