"""Send task (queue `mail`): thin. Call `reply_send`, own the retry policy."""

from __future__ import annotations

import logging
import smtplib

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError

from triage import services
from triage.services.autoack import autoack_send
from triage.services.replies import SendOutcome
from workers.celery import app
from workers.tasks import retry

logger = logging.getLogger(__name__)


def is_transient(exc: BaseException) -> bool:
    """Worth another try: the server or network may say yes later (4xx, timeouts).

    A 5xx is the mail server's final answer; a refused header or a bug is ours.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code < 500
    # smtplib's other errors (disconnects) are OSErrors too.
    return isinstance(exc, SoftTimeLimitExceeded | OSError | OperationalError)


@app.task(
    name="mail.send_reply",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # Well under TRIAGE_SEND_LEASE_SECONDS: a live claim is never taken for dead.
    soft_time_limit=60,
    time_limit=90,
)
def send_reply(self, draft_id: int) -> str:
    retries = self.request.retries
    # In-process (eager) there is no worker to come back later: fail at once, the
    # draft shows why and an approver can send it again.
    attempts_left = retry.attempts_left(self, settings.TRIAGE_SEND_MAX_ATTEMPTS)
    try:
        outcome = services.reply_send(draft_id)
    except Exception as exc:
        if is_transient(exc) and attempts_left:
            countdown = retry.backoff(retries, factor=10, maximum=600)
            logger.warning(
                "Sending draft %s failed (%s); retry %s in %ss",
                draft_id,
                exc,
                retries + 1,
                countdown,
            )
            raise self.retry(exc=exc, countdown=countdown) from exc
        services.reply_send_fail(
            draft_id=draft_id, error=f"{type(exc).__name__}: {exc}"
        )
        raise
    if outcome == SendOutcome.IN_FLIGHT and attempts_left:
        # Another task holds the claim: look again once its lease has run out, to
        # see it sent or to flag it as unknown.
        raise self.retry(countdown=settings.TRIAGE_SEND_LEASE_SECONDS + 5)
    return str(outcome)


@app.task(
    name="mail.send_autoack",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
)
def send_autoack(self, ticket_id: int) -> str:
    """Issue 15: a new ticket's receipt (the service decides whether it gets one)."""
    attempts_left = retry.attempts_left(self, settings.TRIAGE_SEND_MAX_ATTEMPTS)
    try:
        return str(autoack_send(ticket_id))
    except Exception as exc:
        if is_transient(exc) and attempts_left:
            countdown = retry.backoff(self.request.retries, factor=10, maximum=600)
            raise self.retry(exc=exc, countdown=countdown) from exc
        logger.exception("Auto-ack for ticket %s given up", ticket_id)
        raise
