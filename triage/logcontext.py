"""Which message a log line is about, on every line of a triage.

A context variable set around each task (workers/celery.py) and read by a logging
filter, so library log lines (transformers, celery's own) carry the id as well.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[str] = ContextVar("triage_log_context", default="-")


@contextmanager
def log_context(value: str) -> Iterator[None]:
    token = _current.set(value)
    try:
        yield
    finally:
        _current.reset(token)


def set_log_context(value: str) -> object:
    return _current.set(value)


def reset_log_context(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.ctx = _current.get()
        return True
