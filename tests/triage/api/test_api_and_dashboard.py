"""Approving through the API and through the dashboard at the same moment sends
one email (the real aiosmtpd server of tests/smtp.py), on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from tests.ci import NO_POSTGRES, needs
from tests.factories import ReplyDraftFactory, UserFactory
from tests.triage.api.conftest import client_for
from triage.models import AuditEvent, ReplyDraft
from triage.services import roles_sync
from triage.services.reply_approval import reply_version


@needs(connection.vendor == "postgresql", NO_POSTGRES)
@pytest.mark.django_db(transaction=True)
def test_api_and_dashboard_approve_at_once_send_one_email(smtp):
    groups = roles_sync()
    api_user = UserFactory(username="api-approver", groups=[groups["Approvers"]])
    web_user = UserFactory(username="web-approver", groups=[groups["Approvers"]])
    draft = ReplyDraftFactory()
    version = reply_version(draft)
    api, _ = client_for(api_user)
    web = Client()
    web.force_login(web_user)
    dashboard_url = reverse(
        "admin:triage_ticket_draft_action", args=[draft.ticket_id, draft.pk, "approve"]
    )
    calls = [
        lambda: api.post(
            f"/api/v1/drafts/{draft.pk}/approve/", {"version": version}, format="json"
        ),
        lambda: web.post(dashboard_url, {"version": version}),
    ]
    barrier = threading.Barrier(2)
    responses: list = [None, None]

    def run(i: int) -> None:
        try:
            barrier.wait()
            responses[i] = calls[i]()
        except Exception as exc:
            responses[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    api_response, web_response = responses
    assert api_response.status_code == 200, api_response
    assert web_response.status_code == 302, web_response
    assert len(smtp.wait_for(2, timeout=3)) == 1
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.SENT
    approvals = AuditEvent.objects.filter(action="reply_approved")
    assert approvals.count() == 1
    assert approvals.get().actor in (api_user, web_user)
