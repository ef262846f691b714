"""One env-driven settings module.

Nothing set: SQLite and Celery tasks run in-process (eager) -- a laptop needs no
services. `DATABASE_URL` switches to PostgreSQL, `CELERY_BROKER_URL` to Redis.
`TRIAGE_ENV=production` turns on the checks `manage.py check --deploy` wants and
refuses the development secret key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from triage.model_profiles import ProfileError, resolve_models

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TRIAGE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


TRIAGE_ENV = os.environ.get("TRIAGE_ENV", "development")
PRODUCTION = TRIAGE_ENV == "production"

_DEV_SECRET_KEY = "django-insecure-dev-only-never-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "TRIAGE_ENV=production needs SECRET_KEY set to a random value of 50+ chars."
    )

DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver"
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "triage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "triage.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "triage.urls"
WSGI_APPLICATION = "triage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if not os.environ.get("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite needs its folder
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(os.environ.get("TRIAGE_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"

# --- Security (production) -------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Load balancers probe over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]

# --- Celery ----------------------------------------------------------------------
# No broker configured: run tasks in-process so a laptop needs no Redis.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "triage.*": {"queue": "gpu"},
    "mail.*": {"queue": "mail"},
    "ops.*": {"queue": "default"},
}
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("TRIAGE_TASK_SOFT_TIME_LIMIT", "300"))
CELERY_TASK_TIME_LIMIT = int(os.environ.get("TRIAGE_TASK_TIME_LIMIT", "360"))
# Above the hard time limit, so Redis never redelivers a task that is still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("TRIAGE_VISIBILITY_TIMEOUT", "3600")),
    "global_keyprefix": os.environ.get("CELERY_KEY_PREFIX", ""),
    # How often workers look for unacked tasks of dead workers to redeliver:
    # roughly interval * throttle seconds after the visibility timeout.
    "unacked_restore_interval": int(os.environ.get("TRIAGE_RESTORE_INTERVAL", "10")),
    "unacked_restore_throttle": int(os.environ.get("TRIAGE_RESTORE_THROTTLE", "10")),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Messages left in `received` this long (seconds) without a live task are
# re-enqueued by the sweeper.
TRIAGE_SWEEP_AFTER = int(os.environ.get("TRIAGE_SWEEP_AFTER", "120"))
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-messages": {
        "task": "ops.sweep",
        "schedule": float(os.environ.get("TRIAGE_SWEEP_EVERY", "60")),
    },
}
# Publishing must not hang a webhook when Redis is down: fail fast, the sweeper
# (a later issue) re-enqueues messages left in `received`.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2}

# --- Triage ----------------------------------------------------------------------
TRIAGE_TINY_DIR = Path(os.environ.get("TRIAGE_TINY_DIR", VAR_DIR / "models" / "tiny"))
# Offline classifier heads (`manage.py train_heads`); workers.nlp.offline computes
# the same default from the environment.
TRIAGE_HEADS_DIR = Path(
    os.environ.get("TRIAGE_HEADS_DIR", VAR_DIR / "models" / "heads")
)
TRIAGE_MODELS_PROFILE = os.environ.get("TRIAGE_MODELS", "hub")
try:
    TRIAGE_MODELS = resolve_models(
        TRIAGE_MODELS_PROFILE, tiny_dir=TRIAGE_TINY_DIR, heads_dir=TRIAGE_HEADS_DIR
    )
except ProfileError as exc:
    raise ImproperlyConfigured(str(exc)) from exc
# What agents read (translations shown side by side) and what the analysis models
# read (mail in another language is translated into it first).
TRIAGE_AGENT_LANGUAGE = os.environ.get("TRIAGE_AGENT_LANGUAGE", "en")
TRIAGE_ANALYSIS_LANGUAGE = os.environ.get("TRIAGE_ANALYSIS_LANGUAGE", "en")
# Per-step backend for text-to-text steps: translation/summary "seq2seq"|"chat",
# answer "extractive"|"chat", draft "causal"|"chat".
TRIAGE_BACKENDS = json.loads(os.environ.get("TRIAGE_BACKENDS", "{}"))
TRIAGE_INTENT_LABELS = env_list(
    "TRIAGE_INTENT_LABELS",
    "refund,exchange,wrong item,damaged,late delivery,billing,account,other",
)
# Languages customers write in: `download_models` fetches a translation model for
# each pair with the agents' and the analysis language.
# TRIAGE_LANGUAGES is the newer name; TRIAGE_CUSTOMER_LANGUAGES still works.
TRIAGE_CUSTOMER_LANGUAGES = env_list(
    "TRIAGE_LANGUAGES",
    os.environ.get("TRIAGE_CUSTOMER_LANGUAGES", "de,fr,es,it,nl"),
)
TRIAGE_LANGUAGES = TRIAGE_CUSTOMER_LANGUAGES
# Mail that no model here reads (its language has no translation model and no
# step reads it): the ticket is flagged "not analysed" and routed like this
# instead of by a model's guess. "priority": urgent|high|normal|low; "assignees":
# language -> username of an agent who reads it (the "needs a German speaker"
# queue). JSON, e.g. {"priority": "high", "assignees": {"de": "hans"}}.
TRIAGE_NOT_ANALYSED = {
    "priority": "high",
    "assignees": {},
    **json.loads(os.environ.get("TRIAGE_NOT_ANALYSED", "{}")),
}
# step -> languages its configured model reads, where the model is not the
# step's default (a multilingual sentiment model: {"sentiment": ["en", "de"]}).
TRIAGE_STEP_LANGUAGES = json.loads(os.environ.get("TRIAGE_STEP_LANGUAGES", "{}"))
TRIAGE_BATCH_SIZE = int(os.environ.get("TRIAGE_BATCH_SIZE", "16"))
TRIAGE_SHOP_NAME = os.environ.get("TRIAGE_SHOP_NAME", "Example Shop")
TRIAGE_SUPPORT_ADDRESS = os.environ.get(
    "TRIAGE_SUPPORT_ADDRESS", "support@example-shop.test"
)
TRIAGE_AGENT_SIGNATURE = os.environ.get("TRIAGE_AGENT_SIGNATURE", "Customer Service")
TRIAGE_MAX_ATTEMPTS = int(os.environ.get("TRIAGE_MAX_ATTEMPTS", "3"))
# Seconds; retry n waits a random time up to factor * 2**n (full jitter), max 300.
TRIAGE_RETRY_BACKOFF = float(os.environ.get("TRIAGE_RETRY_BACKOFF", "5"))
# Raw MIME kept per message; above this only the head is stored and flagged.
TRIAGE_RAW_MAX_BYTES = int(os.environ.get("TRIAGE_RAW_MAX_BYTES", str(10 * 2**20)))
TRIAGE_ATTACHMENT_MAX_BYTES = int(
    os.environ.get("TRIAGE_ATTACHMENT_MAX_BYTES", str(10 * 2**20))
)
TRIAGE_ATTACHMENT_MAX_COUNT = int(os.environ.get("TRIAGE_ATTACHMENT_MAX_COUNT", "20"))
# Text handed to the models is capped; the full text stays stored.
TRIAGE_MODEL_TEXT_MAX_CHARS = int(
    os.environ.get("TRIAGE_MODEL_TEXT_MAX_CHARS", "20000")
)

# --- Webhooks / IMAP -------------------------------------------------------------
# An endpoint whose secret is unset refuses every request (401).
MAILGUN_WEBHOOK_SIGNING_KEY = os.environ.get("MAILGUN_WEBHOOK_SIGNING_KEY", "")
TRIAGE_WEBHOOK_SECRET = os.environ.get("TRIAGE_WEBHOOK_SECRET", "")  # raw MIME HMAC
INBOUND_BASIC_AUTH = os.environ.get("INBOUND_BASIC_AUTH", "")  # "user:password"
# SendGrid cannot sign: either basic auth or this secret as the last URL segment.
SENDGRID_WEBHOOK_URL_SECRET = os.environ.get("SENDGRID_WEBHOOK_URL_SECRET", "")
# Whole request body, checked before parsing (413). Postmark posts up to 35 MB of
# JSON, SendGrid 30 MB, Mailgun 25 MB of mail; Django's DATA_UPLOAD_MAX_MEMORY_SIZE
# does not apply: the webhook views read the body themselves (triage/webhooks).
TRIAGE_WEBHOOK_MAX_BYTES = int(
    os.environ.get("TRIAGE_WEBHOOK_MAX_BYTES", str(40 * 2**20))
)
TRIAGE_WEBHOOK_TOLERANCE_SECONDS = int(
    os.environ.get("TRIAGE_WEBHOOK_TOLERANCE_SECONDS", "300")
)
# Archive attachments (zip, gzip) are judged by the sizes they declare, never
# extracted; past a cap they are flagged and not stored.
TRIAGE_ARCHIVE_MAX_UNCOMPRESSED_BYTES = int(
    os.environ.get("TRIAGE_ARCHIVE_MAX_UNCOMPRESSED_BYTES", str(100 * 2**20))
)
TRIAGE_ARCHIVE_MAX_RATIO = float(os.environ.get("TRIAGE_ARCHIVE_MAX_RATIO", "100"))
TRIAGE_ARCHIVE_MAX_MEMBERS = int(os.environ.get("TRIAGE_ARCHIVE_MAX_MEMBERS", "1000"))
IMAP_HOST = os.environ.get("IMAP_HOST", "")
IMAP_PORT = int(os.environ.get("IMAP_PORT", "993"))
IMAP_USER = os.environ.get("IMAP_USER", "")
IMAP_PASSWORD = os.environ.get("IMAP_PASSWORD", "")  # or an app password
IMAP_FOLDER = os.environ.get("IMAP_FOLDER", "INBOX")
IMAP_CAFILE = os.environ.get("IMAP_CAFILE", "")  # extra CA bundle (self-hosted)
IMAP_BATCH = int(os.environ.get("IMAP_BATCH", "50"))
IMAP_POLL_SECONDS = float(os.environ.get("IMAP_POLL_SECONDS", "60"))
if IMAP_HOST:
    CELERY_BEAT_SCHEDULE["mail-imap-poll"] = {
        "task": "mail.imap_poll",
        "schedule": IMAP_POLL_SECONDS,
        # A poll that waited longer than one interval is superseded by the next.
        "options": {"expires": IMAP_POLL_SECONDS},
    }

# --- Email / dashboard -----------------------------------------------------------
# Approved replies go out through Django's SMTP backend (the `mail` queue).
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", f"{TRIAGE_SHOP_NAME} Support <{TRIAGE_SUPPORT_ADDRESS}>"
)
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", TRIAGE_SUPPORT_ADDRESS)
TRIAGE_SEND_MAX_ATTEMPTS = int(os.environ.get("TRIAGE_SEND_MAX_ATTEMPTS", "5"))
# A send claimed longer ago than this is presumed dead (longer than the mail task's
# hard time limit): its outcome is unknown and an approver decides, never a retry.
TRIAGE_SEND_LEASE_SECONDS = int(os.environ.get("TRIAGE_SEND_LEASE_SECONDS", "300"))
# Set on every response by triage.middleware: email content is shown in the
# dashboard, so no inline script, no plugin, no framing, no remote images.
TRIAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "triage.logcontext.ContextFilter"}},
    "formatters": {
        # `ctx` names the message(s) a worker is triaging: grep a message's id to
        # follow it through every step.
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(ctx)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
