"""Celery tasks. Importing this package registers them (autodiscover finds it)."""

from workers.tasks.imap import imap_poll as imap_poll
from workers.tasks.mail import send_autoack, send_reply
from workers.tasks.ops import sweep
from workers.tasks.stages import generate, rerun_steps
from workers.tasks.triage import triage_batch, triage_message, triage_messages
from workers.tasks.webhooks import deliver_webhook

__all__ = [
    "deliver_webhook",
    "generate",
    "rerun_steps",
    "send_autoack",
    "send_reply",
    "sweep",
    "triage_batch",
    "triage_message",
    "triage_messages",
]
