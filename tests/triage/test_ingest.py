from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from tests.factories import make_eml
from triage.models import Attachment, AuditEvent, Message, Ticket
from triage.services import email_ingest

pytestmark = pytest.mark.django_db


def test_ingest_stores_ticket_message_and_raw(
    sample_bytes, django_capture_on_commit_callbacks
):
    raw = sample_bytes("01-bumblebee.eml")
    with django_capture_on_commit_callbacks() as callbacks:
        result = email_ingest(raw, source="file")
    assert result.created
    message = Message.objects.get()
    assert bytes(message.raw) == raw
    assert message.raw_size == len(raw) and not message.raw_truncated
    assert message.triage_status == Message.TriageStatus.RECEIVED
    ticket = message.ticket
    assert ticket.customer_email == "bumblebee@autobots.example.com"
    assert ticket.subject == "Wrong action figure delivered"
    assert len(callbacks) == 1  # exactly one triage enqueued, after commit
    assert AuditEvent.objects.filter(ticket=ticket, action="ticket_created").exists()


def test_same_message_twice_gives_one_row_and_one_task(
    sample_bytes, django_capture_on_commit_callbacks
):
    raw = sample_bytes("01-bumblebee.eml")
    with django_capture_on_commit_callbacks() as callbacks:
        first = email_ingest(raw, source="file")
        second = email_ingest(raw, source="file")
    assert first.created and not second.created
    assert second.message.pk == first.message.pk
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1
    assert len(callbacks) == 1


def test_reply_lands_in_the_same_ticket(sample_bytes):
    original = email_ingest(sample_bytes("01-bumblebee.eml"), source="file").message
    reply = email_ingest(sample_bytes("04-bumblebee-reply.eml"), source="file").message
    assert reply.ticket_id == original.ticket_id
    assert reply.in_reply_to == original.message_id
    assert Ticket.objects.count() == 1


def test_references_thread_when_in_reply_to_is_unknown():
    first = email_ingest(make_eml(message_id="<a1@example.com>"), source="t").message
    reply = email_ingest(
        make_eml(
            message_id="<a3@example.com>",
            in_reply_to="<never-stored@example.com>",
            references="<a1@example.com> <never-stored@example.com>",
        ),
        source="t",
    ).message
    assert reply.ticket_id == first.ticket_id


def test_subject_tag_threads_only_for_the_ticket_customer():
    first = email_ingest(make_eml(message_id="<b1@example.com>"), source="t").message
    tag = f"Re: [#{first.ticket_id}] Parcel missing"
    same = email_ingest(
        make_eml(message_id="<b2@example.com>", subject=tag), source="t"
    ).message
    stranger = email_ingest(
        make_eml(
            message_id="<b3@example.com>", subject=tag, sender="Eve <eve@example.net>"
        ),
        source="t",
    ).message
    assert same.ticket_id == first.ticket_id
    assert stranger.ticket_id != first.ticket_id


def test_attachments_stored_with_hash_and_caps(sample_bytes, settings):
    settings.TRIAGE_ATTACHMENT_MAX_BYTES = 200
    message = email_ingest(sample_bytes("06-attachment.eml"), source="file").message
    png = Attachment.objects.get(message=message, filename="broken-lamp.png")
    assert png.size == 100 and len(png.sha256) == 64 and not png.flagged
    assert png.file.read().startswith(b"\x89PNG")
    pdf = Attachment.objects.get(message=message, filename="order-receipt.pdf")
    assert pdf.flagged and "larger than" in pdf.flag_reason and not pdf.file


def test_raw_over_the_cap_is_truncated_and_flagged(settings):
    settings.TRIAGE_RAW_MAX_BYTES = 100
    raw = make_eml(body="x" * 500)
    message = email_ingest(raw, source="t").message
    assert message.raw_truncated and len(bytes(message.raw)) == 100
    assert message.raw_size == len(raw)
    assert message.text_body.strip() == "x" * 500


def test_malformed_mail_is_stored_raw_and_flagged(sample_bytes):
    raw = sample_bytes("07-malformed.eml")
    message = email_ingest(raw, source="file").message
    assert message.is_malformed and message.parse_defects
    assert bytes(message.raw) == raw


def test_exception_after_insert_publishes_no_task(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email_ingest(make_eml(), source="t")
        raise RuntimeError("boom after insert")
    assert callbacks == []
    assert Message.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_give_one_row_and_one_triage(tiny_settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs a server database for real concurrency")
    raw = make_eml(message_id="<race@example.com>")
    barrier = threading.Barrier(4)
    results: list[bool] = []

    def worker():
        try:
            barrier.wait()
            results.append(email_ingest(raw, source="t").created)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    message = Message.objects.get(message_id="<race@example.com>")
    # Tasks run in-process here: one triage run means one attempt on the row.
    assert message.triage_attempts == 1
    assert message.triage_status == Message.TriageStatus.TRIAGED
