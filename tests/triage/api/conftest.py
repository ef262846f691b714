from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from triage.services.api_tokens import api_token_create


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
