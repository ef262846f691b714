"""Every endpoint of the schema, every method: who is refused.

The endpoints come from the OpenAPI schema itself, so one added later is covered
without editing this file."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.factories import ReplyDraftFactory, UserFactory
from tests.triage.api.conftest import client_for
from triage.models import AuditEvent, ReplyDraft, Ticket, TicketNote
from triage.services.api_tokens import api_token_revoke

pytestmark = pytest.mark.django_db

# Served to anyone logged in (the schema is not data); not part of the matrix.
NOT_DATA = {"/api/v1/schema/", "/api/v1/docs/"}


def endpoints() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        if path not in NOT_DATA
        for method in operations
    )


@pytest.fixture
def urls():
    draft = ReplyDraftFactory()
    ids = {
        "/tickets/{id}/": draft.ticket_id,
        "/drafts/{id}/": draft.pk,
        "/messages/{id}/": draft.in_reply_to_message_id,
    }

    def fill(path: str) -> str:
        for prefix, pk in ids.items():
            head = prefix.removesuffix("{id}/")
            if path.startswith(f"/api/v1{head}{{id}}/"):
                return path.replace("{id}", str(pk))
        assert "{" not in path, f"no id for {path}: add it to the fixture"
        return path

    return fill, draft


def call(client: APIClient, method: str, url: str):
    return getattr(client, method.lower())(url, {}, format="json")


def test_the_matrix_covers_every_endpoint():
    found = {path for _, path in endpoints()}
    for path in (
        "/api/v1/tickets/",
        "/api/v1/tickets/assign/",
        "/api/v1/tickets/{id}/",
        "/api/v1/tickets/{id}/drafts/",
        "/api/v1/tickets/{id}/messages/",
        "/api/v1/tickets/{id}/notes/",
        "/api/v1/messages/",
        "/api/v1/messages/{id}/",
        "/api/v1/drafts/{id}/",
        "/api/v1/drafts/{id}/approve/",
        "/api/v1/drafts/{id}/reject/",
        "/api/v1/customers/",
        "/api/v1/overview/",
    ):
        assert path in found, path


def _unchanged(draft: ReplyDraft) -> None:
    draft.refresh_from_db()
    assert draft.status == ReplyDraft.Status.DRAFTED
    assert not TicketNote.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not Ticket.objects.filter(assigned_to__isnull=False).exists()


def test_no_revoked_or_deactivated_credentials_get_anywhere(approver, urls):
    fill, draft = urls
    revoked, token = client_for(approver)
    api_token_revoke(token=token)
    # The user is deactivated after the token was made: the token dies with it.
    leaver = UserFactory(groups=list(approver.groups.all()))
    deactivated, _ = client_for(leaver)
    leaver.is_active = False
    leaver.save()
    garbage = APIClient()
    garbage.credentials(HTTP_AUTHORIZATION="Bearer trg_00000000_nope")
    for method, path in endpoints():
        url = fill(path)
        assert call(APIClient(), method, url).status_code in (401, 403), (method, url)
        for client in (revoked, deactivated, garbage):
            response = call(client, method, url)
            assert response.status_code == 401, (method, url, response.content)
    _unchanged(draft)


def test_a_user_without_a_role_is_refused_everywhere(urls):
    fill, draft = urls
    client, _ = client_for(UserFactory())
    for method, path in endpoints():
        response = call(client, method, fill(path))
        assert response.status_code == 403, (method, path, response.content)
    _unchanged(draft)


def test_a_view_only_user_reads_but_writes_nothing(urls):
    fill, draft = urls
    reader = UserFactory()
    reader.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="triage",
            codename__in=["view_ticket", "view_ticketnote"],
        )
    )
    client, _ = client_for(reader)
    for method, path in endpoints():
        response = call(client, method, fill(path))
        expected = 200 if method == "GET" else 403
        assert response.status_code == expected, (method, path, response.content)
    _unchanged(draft)


def test_an_agent_may_not_approve_or_reject(agent, urls):
    fill, draft = urls
    client, _ = client_for(agent)
    for method, path in endpoints():
        if path.endswith(("/approve/", "/reject/")):
            response = call(client, method, fill(path))
            assert response.status_code == 403, (method, path)
    _unchanged(draft)


def test_session_auth_for_the_browsable_api_needs_the_csrf_token(agent):
    draft = ReplyDraftFactory()
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(agent)
    assert browser.get("/api/v1/tickets/").status_code == 200
    # A logged-in browser is a session: a cross-site form must not write.
    response = browser.patch(
        f"/api/v1/drafts/{draft.pk}/", {"text": "hijacked"}, format="json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    draft.refresh_from_db()
    assert draft.text != "hijacked"
