"""The Outbox page and the development outbox: a sent reply is visible twice over."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import ReplyDraftFactory, UserFactory
from triage.models import Message, ReplyDraft
from triage.services import roles_sync
from triage.services.replies import (
    SendOutcome,
    reply_approve,
    reply_send,
    reply_version,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def file_outbox(settings, tmp_path):
    # What development (`make demo`) uses by default; pytest-django swaps in locmem.
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "outbox"
    settings.CELERY_TASK_ALWAYS_EAGER = False  # send by hand below
    return settings.EMAIL_FILE_PATH


def test_development_defaults_to_the_file_outbox():
    from django.conf import settings

    # The suite runs in development; pytest-django replaces the backend in
    # `settings`, so read what the module computed.
    from triage import settings as module

    assert module.TRIAGE_ENV == "development"
    assert module.EMAIL_BACKEND.endswith("filebased.EmailBackend")
    assert module.EMAIL_FILE_PATH == module.TRIAGE_OUTBOX_DIR
    assert settings.TRIAGE_OUTBOX_DIR == module.TRIAGE_OUTBOX_DIR


def test_a_sent_reply_is_in_the_outbox_folder_the_thread_and_the_outbox_page(
    file_outbox, client, monkeypatch
):
    groups = roles_sync()
    approver = UserFactory(groups=[groups["Approvers"]])
    draft = ReplyDraftFactory()
    # The send task is enqueued on commit, which this test's transaction never
    # reaches: the send is called directly below.
    reply_approve(draft_id=draft.pk, user=approver, version=reply_version(draft))
    assert reply_send(draft.pk) == SendOutcome.SENT

    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.SENT
    sent = draft.sent_message
    assert sent.direction == Message.Direction.OUTBOUND
    assert sent.ticket == draft.ticket  # in the thread
    [written] = list(file_outbox.iterdir())
    assert f"Message-ID: {sent.message_id}" in written.read_text()

    client.force_login(approver)
    page = client.get(reverse("triage_outbox"))
    assert page.status_code == 200
    html = page.content.decode()
    assert sent.message_id.replace("<", "&lt;").replace(">", "&gt;") in html
    assert draft.ticket.customer_email in html
    assert approver.get_username() in html
    assert str(file_outbox) in html  # says where the files are
    ticket_page = client.get(
        reverse("admin:triage_ticket_change", args=[draft.ticket_id])
    )
    assert "tr-out" in ticket_page.content.decode()


def test_outbox_needs_staff_and_a_role(client):
    assert client.get(reverse("triage_outbox")).status_code == 302  # to login
    client.force_login(UserFactory(is_staff=True))  # staff without a role
    assert client.get(reverse("triage_outbox")).status_code == 403
