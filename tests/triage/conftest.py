from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator

import pytest

from tests.ci import NO_REDIS, need


@pytest.fixture(autouse=True)
def _in_process_tasks(settings, tmp_path_factory):
    """Django-side unit tests: tasks run in-process, media in a temp dir."""
    from workers.celery import app

    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    # Charts computed per request: a cached overview would outlive a test's data.
    settings.TRIAGE_OVERVIEW_CACHE_SECONDS = 0
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd) that Django's mail settings point at."""
    from tests.smtp import SmtpCapture

    with SmtpCapture() as capture:
        capture.configure(settings)
        yield capture


@pytest.fixture
def roles(db):
    """The Agents / Approvers / Team leads groups with their permissions."""
    from triage.services import roles_sync

    return roles_sync()


@pytest.fixture
def agent(roles):
    from tests.factories import UserFactory

    return UserFactory(username="agent", groups=[roles["Agents"]])


@pytest.fixture
def approver(roles):
    from tests.factories import UserFactory

    return UserFactory(username="approver", groups=[roles["Approvers"]])


class Queue:
    """The real Redis list the triage tasks are published to, under the test
    run's key prefix: counts publishes, not calls to a mock."""

    def __init__(self, client, key: str) -> None:
        self.client = client
        self.key = key

    def __len__(self) -> int:
        return int(self.client.llen(self.key))

    def message_ids(self) -> list[int]:
        ids = []
        for raw in self.client.lrange(self.key, 0, -1):
            envelope = json.loads(raw)
            body = json.loads(base64.b64decode(envelope["body"]))
            ids.append(int(body[0][0]))
        return ids


@pytest.fixture
def published() -> Iterator[Queue]:
    """Tasks go to Redis for real (not in-process) and are counted there."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    need(url.startswith("redis"), NO_REDIS)
    import redis

    from workers.celery import app

    prefix = app.conf.broker_transport_options.get("global_keyprefix", "")
    client = redis.Redis.from_url(url)
    key = f"{prefix}gpu"
    client.delete(key)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield Queue(client, key)
    finally:
        app.conf.task_always_eager = eager
        client.delete(key)
        client.close()
