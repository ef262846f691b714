"""Who else has a ticket open (issue 15 item 10): heartbeats in Django's cache.

Each open ticket page beats every few seconds with "viewing" or "replying"; a
beat older than `TRIAGE_PRESENCE_SECONDS` no longer counts, and the cache entry
itself expires with it, so a closed tab disappears without a goodbye. One cache
entry per ticket holds everyone's last beat: two beats at the same instant may
lose one of them, which the next beat (seconds later) restores — presence is a
hint to avoid double replies, not a lock. Shared between web processes only when
the cache is (CACHE_URL); heartbeats are not agent actions and write no audit.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

from django.conf import settings
from django.core.cache import cache
from django.db.models import TextChoices


class Presence(TextChoices):
    VIEWING = "viewing", "viewing"
    REPLYING = "replying", "replying"


class Colleague(TypedDict):
    user_id: int
    name: str
    state: str


def _key(ticket_id: int) -> str:
    return f"triage:presence:{ticket_id}"


def _fresh(entries: dict[str, Any], now: float) -> dict[str, Any]:
    ttl = settings.TRIAGE_PRESENCE_SECONDS
    return {k: v for k, v in entries.items() if now - float(v.get("at", 0)) <= ttl}


def presence_beat(*, ticket_id: int, user: Any, state: str) -> list[Colleague]:
    """Record that `user` has the ticket open; return the others who do."""
    if state not in Presence.values:
        state = "viewing"
    now = time.time()
    entries = _fresh(cache.get(_key(ticket_id)) or {}, now)
    entries[str(user.pk)] = {
        "name": user.get_full_name() or user.get_username(),
        "state": state,
        "at": now,
    }
    cache.set(_key(ticket_id), entries, settings.TRIAGE_PRESENCE_SECONDS)
    return _others(entries, user.pk)


def presence_others(*, ticket_id: int, user: Any) -> list[Colleague]:
    return _others(_fresh(cache.get(_key(ticket_id)) or {}, time.time()), user.pk)


def _others(entries: dict[str, Any], user_id: int) -> list[Colleague]:
    return sorted(
        (
            Colleague(user_id=int(pk), name=str(v["name"]), state=str(v["state"]))
            for pk, v in entries.items()
            if int(pk) != user_id
        ),
        key=lambda c: c["name"].lower(),
    )
