"""Template helpers for the merge and split controls (issue 15)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

register = template.Library()


@register.filter
def inbound_count(review: Iterable[Any]) -> int:
    """Customer messages in the thread: a split needs two (services.ticket_merge)."""
    return sum(1 for item in review if item.is_inbound)
