"""The Celery app. `celery -A workers worker` finds `app` here.

Configuration comes from Django settings (namespace CELERY_) so there is one
settings module for the web and the workers.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")

app = Celery("triage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"], related_name="tasks")


@signals.setup_logging.connect
def _django_logging(**kwargs) -> None:
    # Keep Django's LOGGING (with the message-id context) instead of Celery's own.
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@signals.worker_ready.connect
def _say_language_coverage(**kwargs) -> None:
    # Which languages the configured models read, before the first mail arrives.
    from django.conf import settings

    from workers.config import pipeline_config
    from workers.nlp.coverage import log_coverage

    log_coverage(pipeline_config(), settings.TRIAGE_LANGUAGES)


@signals.task_prerun.connect
def _log_context_start(task_id=None, task=None, args=None, kwargs=None, **extra):
    from triage.logcontext import set_log_context

    ids = (args or [None])[0] if args else (kwargs or {}).get("message_id")
    label = f"{task.name} msg={ids}" if ids is not None else task.name
    task.request.log_context_token = set_log_context(label)


@signals.task_postrun.connect
def _log_context_end(task=None, **extra):
    from triage.logcontext import reset_log_context

    token = getattr(task.request, "log_context_token", None)
    if token is not None:
        reset_log_context(token)


@signals.celeryd_after_setup.connect
def _refuse_without_models(sender=None, instance=None, **extra) -> None:
    """A worker serving a `gpu*` queue needs its models on disk (or the Hub).

    Checked here, after -Q is applied and before any task is taken; a clear
    message and exit code 78 (EX_CONFIG) instead of failing every task later.
    """
    import sys

    from django.conf import settings

    consume = instance.app.amqp.queues.consume_from if instance else None
    # `gpu`, or a stage's queue of the split topology (gpu-encode, gpu-generate).
    serves_gpu = not consume or any(str(q).startswith("gpu") for q in consume)
    if not (serves_gpu and settings.TRIAGE_WORKER_MODEL_CHECK):
        return
    from workers.preflight import check_models

    problem = check_models()
    if problem:
        sys.stderr.write(problem + "\n")
        sys.stderr.flush()
        # os._exit: SystemExit from a signal handler would be swallowed or turned
        # into a traceback by the worker's start-up; the parent must see 78.
        import os

        os._exit(78)


# The steps whose models this worker's task processes load at start (set in the
# main process before the pool forks, so a prefork child inherits it).
_preload_steps: list[str] = []
_preload_here = False  # solo/thread pools: the main process runs the tasks


def _ready_file() -> Path | None:
    from django.conf import settings

    path = settings.TRIAGE_WORKER_READY_FILE
    return Path(path) if path else None


@signals.celeryd_after_setup.connect
def _plan_preload(sender=None, instance=None, **extra) -> None:
    """Which models to load before the first task (workers/warmup.py)."""
    global _preload_here
    from django.conf import settings

    if instance is None:
        return
    ready = _ready_file()
    if ready is not None:
        # A file left by an earlier run of this container is not this one's.
        ready.unlink(missing_ok=True)
    if not settings.TRIAGE_WORKER_PRELOAD:
        return
    from celery.concurrency.prefork import TaskPool as PreforkPool

    from workers.warmup import served_steps

    consume = instance.app.amqp.queues.consume_from
    _preload_steps[:] = served_steps(list(consume or ()), settings.TRIAGE_STAGE_QUEUES)
    pool = instance.pool_cls
    _preload_here = not (isinstance(pool, type) and issubclass(pool, PreforkPool))


@signals.worker_process_init.connect
def _preload_in_child(**extra) -> None:
    if _preload_steps:
        from workers import warmup

        warmup.start(list(_preload_steps), _ready_file())


@signals.worker_ready.connect
def _preload_in_main(**extra) -> None:
    from workers import warmup

    if not _preload_steps:
        # Nothing to load first (preload off, or no model step here): ready now.
        ready = _ready_file()
        if ready is not None:
            warmup.mark_ready(ready, warmup.ready_record([], 0.0, []))
    elif _preload_here:
        warmup.start(list(_preload_steps), _ready_file())


@app.on_after_configure.connect
def _redbeat_keys(sender=None, **extra) -> None:
    """celery-redbeat looks for its keys without Celery's CELERY_ namespace (and
    warns that it falls back to the broker's); hand them over un-prefixed once the
    configuration is read. The values are the same either way."""
    from django.conf import settings

    for name in dir(settings):
        if name.startswith("CELERY_REDBEAT_"):
            sender.conf[name.removeprefix("CELERY_").lower()] = getattr(settings, name)
