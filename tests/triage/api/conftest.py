from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.smtp import SmtpCapture
from triage.services import roles_sync
from triage.services.api_tokens import api_token_create


@pytest.fixture
def roles(db):
    return roles_sync()


@pytest.fixture
def agent(roles):
    return UserFactory(username="agent", groups=[roles["Agents"]])


@pytest.fixture
def approver(roles):
    return UserFactory(username="approver", groups=[roles["Approvers"]])


def client_for(user) -> tuple[APIClient, object]:
    token, secret = api_token_create(user=user, name="script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, token


@pytest.fixture
def agent_api(agent):
    return client_for(agent)[0]


@pytest.fixture
def approver_api(approver):
    return client_for(approver)[0]


@pytest.fixture
def smtp(settings):
    with SmtpCapture() as capture:
        capture.configure(settings)
        yield capture
