"""The overview's numbers, computed once for every web process.

Cold, they cost a pass over the windows they aggregate (85 ms at 100k tickets,
0.8 s at 1M on 2 cores): a team lead's refresh reads them from the cache instead,
and celery beat recomputes them in the background (`ops.overview_refresh`) so no
request pays the cold cost while the workers run (with `CACHE_URL` shared).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from triage.selectors.overview import (
    overview_intent_mix,
    overview_open_by_priority_age,
    overview_tickets_per_day,
    overview_time_to_approval,
)
from triage.selectors.pipeline_speed import overview_pipeline_speed
from triage.selectors.sla import sla_overview

Numbers = tuple[Any, Any, Any, Any, Any, Any]


def overview_cache_key() -> str:
    # Day and zone in the key: the charts are drawn in local days. The version
    # changes with the tuple's shape (a shared cache outlives a deploy).
    zone = timezone.get_current_timezone_name()
    return f"triage:overview:v3:{zone}:{timezone.localdate()}"


def overview_compute() -> Numbers:
    return (
        overview_tickets_per_day(days=14),
        overview_intent_mix(days=30),
        overview_open_by_priority_age(),
        overview_time_to_approval(days=30),
        sla_overview(),  # issue 15, templates/admin/triage/_overview_sla.html
        overview_pipeline_speed(days=7),  # _overview_speed.html
    )


def overview_numbers() -> Numbers:
    """The charts' and the SLA block's numbers, at most the cache time old."""
    seconds = settings.TRIAGE_OVERVIEW_CACHE_SECONDS
    if seconds <= 0:
        return overview_compute()
    return cache.get_or_set(overview_cache_key(), overview_compute, seconds)


def overview_refresh() -> bool:
    """Recompute now and keep the result for two refresh periods (a late beat
    still finds it warm). False when caching is off."""
    seconds = settings.TRIAGE_OVERVIEW_CACHE_SECONDS
    if seconds <= 0:
        return False
    cache.set(overview_cache_key(), overview_compute(), 2 * seconds)
    return True
