from __future__ import annotations

import pytest


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
