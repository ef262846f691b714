"""IMAP polling (queue `mail`, driven by celery beat when IMAP_HOST is set)."""

from __future__ import annotations

from django.conf import settings

from workers.celery import app


# Not acks_late: a poll lost with its worker is simply the next beat's poll, and
# a redelivered one would only race the next.
@app.task(name="mail.imap_poll", ignore_result=True)
def imap_poll() -> int:
    from triage.services.imap import ImapSettings
    from triage.services.imap import imap_poll as poll

    if not settings.IMAP_HOST:
        return 0
    result = poll(
        ImapSettings(
            host=settings.IMAP_HOST,
            port=settings.IMAP_PORT,
            user=settings.IMAP_USER,
            password=settings.IMAP_PASSWORD,
            folder=settings.IMAP_FOLDER,
            cafile=settings.IMAP_CAFILE,
            batch=settings.IMAP_BATCH,
            failed_folder=settings.IMAP_FAILED_FOLDER,
        )
    )
    return result.created
