"""A real `celery worker` process against the test database and Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests.ci import NO_SERVICES, need
from tests.e2e.processes import CeleryWorker, reset_broker, worker_env
from tests.smtp import SmtpCapture

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory):
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture
def users(transactional_db):
    """An agent, an approver and a team lead (a flushed database has no groups:
    the migration made them, roles_sync restores them)."""
    from tests.factories import UserFactory
    from triage.services import roles_sync

    groups = roles_sync()
    return {
        "agent": UserFactory(username="agent", groups=[groups["Agents"]]),
        "approver": UserFactory(username="approver", groups=[groups["Approvers"]]),
        "lead": UserFactory(username="lead", groups=[groups["Team leads"]]),
    }


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpCapture]:
    """A real SMTP server; this process and the worker fixture send to it."""
    with SmtpCapture() as smtp:
        smtp.configure(settings)
        yield smtp


@pytest.fixture
def celery_worker_process(
    transactional_db, tiny_models, smtp_server
) -> Iterator[CeleryWorker]:
    need(
        connection.vendor == "postgresql" and not settings.CELERY_TASK_ALWAYS_EAGER,
        NO_SERVICES,
    )
    reset_broker()
    worker = CeleryWorker(
        worker_env(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST=smtp_server.host,
            EMAIL_PORT=str(smtp_server.port),
        ),
        queues=("gpu", "default", "mail"),
    ).wait_ready()
    yield worker
    worker.stop()
    reset_broker()


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Celery tasks run in the process that enqueues them (the live server's)."""
    from workers.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


@pytest.fixture(scope="module")
def chromium(django_db_setup) -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (never `playwright install`).

    Module-scoped, and only after the test database exists: Playwright's sync API
    keeps an asyncio loop running on this thread while it is started, and Django
    refuses ORM calls under a running loop unless told it is safe here (it is:
    the tests' ORM calls are plain synchronous code between page actions).
    """
    need(
        Path(CHROMIUM).exists(),
        f"chromium is absent ({CHROMIUM}; `make chromium` installs Debian's)",
    )
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser(chromium, live_server) -> Any:
    return chromium
