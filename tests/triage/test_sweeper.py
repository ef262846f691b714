from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.ci import NO_SERVICES, need
from tests.factories import MessageFactory
from triage.models import Message
from triage.services.sweeper import triage_sweep

pytestmark = pytest.mark.django_db


def old(seconds: int = 3600):
    return timezone.now() - timedelta(seconds=seconds)


def test_sweeps_stuck_messages_once(django_capture_on_commit_callbacks, settings):
    settings.TRIAGE_SWEEP_AFTER = 60
    lost = MessageFactory(received_at=old())
    published_long_ago = MessageFactory(received_at=old(), triage_enqueued_at=old())
    dead_worker = MessageFactory(
        triage_status=Message.TriageStatus.TRIAGING, triage_started_at=old(10**5)
    )
    fresh = MessageFactory()  # just arrived: its task is probably queued
    just_published = MessageFactory(
        received_at=old(), triage_enqueued_at=timezone.now()
    )
    busy = MessageFactory(
        triage_status=Message.TriageStatus.TRIAGING, triage_started_at=timezone.now()
    )
    done = MessageFactory(received_at=old(), triage_status="triaged")
    failed = MessageFactory(received_at=old(), triage_status="failed")

    with django_capture_on_commit_callbacks() as callbacks:
        swept = triage_sweep()
    assert sorted(swept) == sorted([lost.pk, published_long_ago.pk, dead_worker.pk])
    assert len(callbacks) == 1
    untouched = (fresh, just_published, busy, done, failed)
    assert not set(swept) & {m.pk for m in untouched}
    # Stamped in the same transaction: an immediate second sweep finds nothing.
    assert triage_sweep() == []


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_never_pick_the_same_message(settings):
    need(
        connection.vendor == "postgresql" and not settings.CELERY_TASK_ALWAYS_EAGER,
        NO_SERVICES,
    )
    from workers.celery import app

    settings.TRIAGE_SWEEP_AFTER = 60
    MessageFactory.create_batch(40, received_at=old())
    barrier = threading.Barrier(2)
    results: list[list[int]] = []

    def run():
        try:
            barrier.wait()
            results.append(triage_sweep(limit=25))
        finally:
            connection.close()

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # publish to Redis; nothing consumes here
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        channel.queue_purge("gpu")
        try:
            threads = [threading.Thread(target=run) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            depth = channel.queue_declare(queue="gpu").message_count
        finally:
            channel.queue_purge("gpu")
            app.conf.task_always_eager = eager
    first, second = results
    assert not set(first) & set(second)
    assert len(first) + len(second) == 40
    assert depth == 40  # one real publish per message, none twice


def test_approved_drafts_never_sent_are_sent_once(settings):
    from tests.factories import ReplyDraftFactory
    from tests.smtp import SmtpCapture
    from triage.models import ReplyDraft
    from triage.services.sweeper import reply_sweep

    settings.TRIAGE_SWEEP_AFTER = 60
    stuck = ReplyDraftFactory(status=ReplyDraft.Status.APPROVED, approved_at=old())
    recent = ReplyDraftFactory(
        status=ReplyDraft.Status.APPROVED, approved_at=timezone.now()
    )
    ReplyDraftFactory(status=ReplyDraft.Status.DRAFTED)
    # A real SMTP server (aiosmtpd) behind Django's SMTP backend.
    with SmtpCapture() as smtp:
        smtp.configure(settings)
        assert reply_sweep() == [stuck.pk]  # tasks run in-process here: it is sent
        stuck.refresh_from_db()
        assert stuck.status == ReplyDraft.Status.SENT
        assert reply_sweep() == []  # sent: never again
    [mail] = smtp.received
    assert mail.rcpt_tos == [stuck.ticket.customer_email]
    assert mail.message["To"] == stuck.ticket.customer_email
    assert stuck.text.splitlines()[0] in mail.message.get_content()
    recent.refresh_from_db()
    assert recent.status == ReplyDraft.Status.APPROVED


def test_admin_retry_action_revives_failed_messages_only(
    admin_client, tiny_settings, django_capture_on_commit_callbacks
):
    failed = MessageFactory(triage_status="failed", triage_attempts=3)
    done = MessageFactory(triage_status="triaged")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/triage/message/",
            {"action": "retry_triage", "_selected_action": [failed.pk, done.pk]},
            follow=True,
        )
    assert "1 failed message(s) queued for triage again" in response.content.decode()
    failed.refresh_from_db()
    done.refresh_from_db()
    # Tasks run in-process in these tests: the revived message is triaged afresh.
    assert failed.triage_status == Message.TriageStatus.TRIAGED
    assert failed.triage_attempts == 1
    assert done.triage_attempts == 0
