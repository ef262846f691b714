"""Keep webhook URL secrets out of the logs.

SendGrid cannot sign its posts, so one way to authenticate it is a secret as the
last segment of the URL (`/webhooks/sendgrid/<secret>/`). Django's request logger
writes the path of every 4xx/5xx answer ("Bad Request: /webhooks/sendgrid/<secret>/")
and runserver's logger every request line; this filter, attached to both loggers
at start-up (`TriageConfig.ready`), rewrites the segment before any handler sees it.
It redacts any value there, a wrong guess included.
"""

from __future__ import annotations

import logging
import re

SECRET_IN_PATH_RE = re.compile(r"(/webhooks/sendgrid/)[^/\s?#\"']+")
REDACTED = r"\1[redacted]"
# Loggers that write request paths: Django's 4xx/5xx logger and runserver's.
REQUEST_LOGGERS = ("django.request", "django.server")


def redact(text: str) -> str:
    return SECRET_IN_PATH_RE.sub(REDACTED, text)


class RedactWebhookSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v
                for k, v in record.args.items()
            }
        return True


def install() -> None:
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactWebhookSecrets) for f in logger.filters):
            logger.addFilter(RedactWebhookSecrets())
