"""Housekeeping tasks (queue `default`, driven by celery beat)."""

from __future__ import annotations

from workers.celery import app


@app.task(name="ops.sweep", acks_late=True, ignore_result=True)
def sweep() -> int:
    from triage.services.sweeper import reply_sweep, triage_sweep

    return len(triage_sweep()) + len(reply_sweep())
