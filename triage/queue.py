"""Core publishes Celery tasks by name, never by importing the task modules.

In the manner of Zulip's ``queue_event_on_commit``: services name the task
(``"triage.triage_message"``) and its arguments; the workers own the code. So
``triage.services`` and ``workers.tasks`` do not import each other (the tasks
call the services; the services only publish), and publishing fails the same way
everywhere: a broker that cannot be reached is logged and reported as False, the
caller's row keeps saying it waits, and the periodic sweeper publishes it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

TRIAGE_MESSAGE = "triage.triage_message"
# The generation stage of a split triage (TRIAGE_QUEUE_TOPOLOGY=split).
TRIAGE_GENERATE = "triage.generate"
SEND_REPLY = "mail.send_reply"
SEND_AUTOACK = "mail.send_autoack"


def publish(name: str, args: Sequence[Any] = (), *, raise_eager: bool = False) -> bool:
    """Publish task ``name`` now; False (logged) when that failed.

    Where tasks run eagerly (tests, a host without a broker) the task runs here and
    its own failure counts as a failed publish; ``raise_eager`` re-raises it
    instead (triage: a test must see the error, not a silently waiting row).
    """
    from workers.celery import app  # the Celery app only: no task module, no torch

    try:
        if app.conf.task_always_eager:
            # send_task never runs eagerly: look the task up in this process.
            app.loader.import_default_modules()
        task = app.tasks.get(name)
        if task is not None:
            # Registered in this process (a worker, a CLI, eager mode): its own
            # publish options (time limits, routing) travel with the message.
            task.apply_async(args=list(args))
        else:
            app.send_task(name, args=list(args))
    except Exception:
        if raise_eager and app.conf.task_always_eager:
            raise
        logger.exception("Could not publish %s%s", name, tuple(args))
        return False
    return True


def publish_on_commit(
    name: str,
    args: Sequence[Any] = (),
    *,
    then: Callable[[bool], None] | None = None,
    raise_eager: bool = False,
) -> None:
    """:func:`publish` once the current transaction commits (at once outside one),
    so a worker never looks for a row that is not there yet; ``then(published)``
    runs after."""

    def send() -> None:
        published = publish(name, args, raise_eager=raise_eager)
        if then is not None:
            then(published)

    transaction.on_commit(send)
