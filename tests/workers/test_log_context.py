from __future__ import annotations

import logging

import pytest

from tests.factories import MessageFactory
from triage.logcontext import ContextFilter
from workers.tasks import triage_message


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(ContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.django_db
def test_every_log_line_of_a_triage_names_the_message(tiny_settings, tmp_path):
    from workers.celery import app

    tiny_settings.TRIAGE_MODELS = {
        **tiny_settings.TRIAGE_MODELS,
        "entities": str(tmp_path / "missing"),  # makes the step log an error
    }
    message = MessageFactory()
    handler = Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        triage_message.delay(message.pk)
    finally:
        root.removeHandler(handler)
        app.conf.task_always_eager = eager
    inside = [r for r in handler.records if "entities" in r.getMessage()]
    assert inside, "the failing step should have logged"
    assert all(r.ctx == f"triage.triage_message msg={message.pk}" for r in inside)
    logging.getLogger("x").warning("outside a task")
    assert ContextFilter().filter(rec := logging.makeLogRecord({})) and rec.ctx == "-"
