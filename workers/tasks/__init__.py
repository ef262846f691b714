"""Celery tasks. Importing this package registers them (autodiscover finds it)."""

from workers.tasks.ops import sweep
from workers.tasks.triage import triage_message, triage_messages

__all__ = ["sweep", "triage_message", "triage_messages"]
