from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.ci import NO_REDIS, need
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_broker_and_backlog(client):
    MessageFactory(received_at=timezone.now() - timedelta(minutes=5))
    MessageFactory(triage_status="triaged")
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] and body["database"]["ok"] and body["broker"]["ok"]
    assert 290 <= body["database"]["oldest_untriaged_age_s"] <= 400


def test_healthz_is_503_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["database"]["ok"] is True


def test_healthz_counts_queued_tasks(client, settings):
    need(not settings.CELERY_TASK_ALWAYS_EAGER, NO_REDIS)
    from workers.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("gpu")
        eager, app.conf.task_always_eager = app.conf.task_always_eager, False
        try:
            app.send_task("triage.triage_message", args=[0])
            body = client.get("/healthz").json()
        finally:
            conn.default_channel.queue_purge("gpu")
            app.conf.task_always_eager = eager
    assert body["broker"]["queues"]["gpu"] == 1
