"""Celery silently ignores misspelled settings: check the effective configuration."""

from __future__ import annotations

from celery.app.defaults import DEFAULTS
from django.conf import settings

from workers.celery import app

# Read by celery-redbeat (the beat scheduler) from the same configuration.
REDBEAT_KEYS = {
    "redbeat_redis_url",
    "redbeat_redis_options",
    "redbeat_redis_use_ssl",
    "redbeat_key_prefix",
    "redbeat_lock_key",
    "redbeat_lock_timeout",
}


def test_every_celery_setting_is_a_key_celery_knows():
    ours = [name for name in dir(settings) if name.startswith("CELERY_")]
    known = set(DEFAULTS) | REDBEAT_KEYS
    unknown = [n for n in ours if n.removeprefix("CELERY_").lower() not in known]
    assert not unknown, f"Celery does not know: {unknown}"


def test_effective_reliability_settings():
    # What a worker does at start: autodiscovery is lazy, and alone this test
    # would otherwise see only Celery's built-in tasks.
    app.loader.import_default_modules()
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit < conf.task_time_limit
    # Redis must not redeliver a task that may still be running.
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    # The single topology (the default): every triage task on `gpu`.
    assert conf.task_routes["triage.*"] == {"queue": "gpu"}
    assert conf.task_routes["triage.generate"] == {"queue": "gpu"}
    assert "triage.triage_message" in app.tasks
    assert {"triage.generate", "triage.rerun_steps"} <= set(app.tasks)
    assert "ops.sweep" in app.tasks
    assert conf.beat_schedule["sweep-stuck-messages"]["task"] in app.tasks
    assert conf.beat_schedule["refresh-overview"]["task"] == "ops.overview_refresh"
    assert "ops.overview_refresh" in app.tasks
