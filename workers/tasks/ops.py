"""Housekeeping tasks (queue `default`, driven by celery beat)."""

from __future__ import annotations

from workers.celery import app


@app.task(name="ops.sweep", acks_late=True, ignore_result=True)
def sweep() -> int:
    from triage.services.sweeper import reply_sweep, triage_sweep

    return len(triage_sweep()) + len(reply_sweep())


@app.task(name="ops.overview_refresh", ignore_result=True, expires=60)
def overview_refresh() -> bool:
    from triage.selectors.overview_cache import overview_refresh

    return overview_refresh()
