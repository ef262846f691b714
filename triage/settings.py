"""One env-driven settings module, read through environs (typed, and a bad value
fails at startup with an error naming the variable).

Production is the default: `TRIAGE_ENV=production` unless told otherwise, so a
missing `SECRET_KEY` or `DJANGO_ALLOWED_HOSTS` stops the process instead of
serving with a public development key. `make demo` and `make test` opt into
`TRIAGE_ENV=development`: SQLite and in-process (eager) Celery tasks unless
`DATABASE_URL` / `CELERY_BROKER_URL` are set, and replies go to a local outbox
folder instead of an SMTP server. DEBUG is on only when `DJANGO_DEBUG` asks.

Every variable read here is documented in `.env.example` (a test checks it).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from django.core.exceptions import ImproperlyConfigured
from environs import Env, validate

from triage.model_profiles import ProfileError, resolve_models

env = Env()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env.path("TRIAGE_VAR_DIR", BASE_DIR / "var")

TRIAGE_ENV = env.str("TRIAGE_ENV", "production")
if TRIAGE_ENV not in {"production", "development"}:
    raise ImproperlyConfigured(
        f"TRIAGE_ENV must be 'production' or 'development', got {TRIAGE_ENV!r}."
    )
PRODUCTION = TRIAGE_ENV == "production"

_DEV_SECRET_KEY = "django-insecure-dev-only-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET_KEY)
if PRODUCTION and (
    SECRET_KEY == _DEV_SECRET_KEY
    or len(SECRET_KEY) < 50
    or SECRET_KEY.startswith("django-insecure")
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of 50+ characters in production "
        "(TRIAGE_ENV=production, the default). Generate one with: python3 -c "
        "'import secrets; print(secrets.token_urlsafe(50))'. For a local try, "
        "TRIAGE_ENV=development."
    )

# Tracebacks only when explicitly asked for, in any environment.
DEBUG = env.bool("DJANGO_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=true is refused in production: it shows tracebacks (with "
        "settings and request data) to anyone, webhook callers included."
    )
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"],
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS must name the host(s) this site answers to in "
        "production, e.g. DJANGO_ALLOWED_HOSTS=support.example.com"
    )
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "triage",
    "triage.api",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from the app itself: the admin works behind any proxy.
    "whitenoise.middleware.WhiteNoiseMiddleware",
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

# --- Database ---------------------------------------------------------------------
if not env.str("DATABASE_URL", ""):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite needs its folder
DATABASES = {
    "default": env.dj_db_url(
        "DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=env.int("DATABASE_CONN_MAX_AGE", 60),
        # A persistent connection that died (database restart) is replaced before
        # the request uses it, instead of failing that request.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # libpq's connect_timeout bounds the whole connection set-up: with the database
    # unreachable a webhook answers 503 (retried by the provider) in seconds
    # instead of hanging until gunicorn kills the worker.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", 5
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A shared cache (the overview's charts) when `CACHE_URL` names a Redis database;
# otherwise each process caches for itself.
_CACHE_URL = env.str("CACHE_URL", "")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_URL,
        }
        if _CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

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
TIME_ZONE = env.str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and attachments ----------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("TRIAGE_STATIC_ROOT", VAR_DIR / "static")
MEDIA_ROOT = env.path("TRIAGE_MEDIA_ROOT", VAR_DIR / "media")
MEDIA_URL = "media/"
# Production serves collectstatic's compressed, hashed copies with far-future cache
# headers; development serves straight from the apps (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
_STATICFILES_BACKEND = (
    "whitenoise.storage.CompressedManifestStaticFilesStorage"
    if PRODUCTION
    else "django.contrib.staticfiles.storage.StaticFilesStorage"
)
# Attachments: a local volume by default, any S3-compatible store through
# django-storages. Attachments are customer data: never public, links are signed.
TRIAGE_STORAGE = env.str("TRIAGE_STORAGE", "local")
if TRIAGE_STORAGE == "local":
    _DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif TRIAGE_STORAGE == "s3":
    _DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("TRIAGE_S3_BUCKET"),
            "endpoint_url": env.str("TRIAGE_S3_ENDPOINT_URL", "") or None,
            "region_name": env.str("TRIAGE_S3_REGION", "") or None,
            # Empty: boto3's own chain (instance role, ~/.aws, AWS_* variables).
            "access_key": env.str("TRIAGE_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env.str("TRIAGE_S3_SECRET_ACCESS_KEY", "") or None,
            "location": env.str("TRIAGE_S3_PREFIX", ""),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    raise ImproperlyConfigured(
        f"TRIAGE_STORAGE must be 'local' or 's3', got {TRIAGE_STORAGE!r}."
    )
STORAGES = {
    "default": _DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": _STATICFILES_BACKEND},
}

# --- Security (production) -------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Set by the reverse proxy (Caddy in the compose `proxy` profile).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Load balancers probe over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]

# --- Celery ----------------------------------------------------------------------
# No broker configured: run tasks in-process so a laptop needs no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", "") or "memory://"
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL == "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Unset: Celery's default (one process per CPU); compose sets it per worker service.
CELERY_WORKER_CONCURRENCY = env.int("TRIAGE_WORKER_CONCURRENCY", None)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Worker topology (README "Worker topology"): "single" runs every step of a
# message in one task on the `gpu` queue; "split" runs the encoder steps on
# `gpu-encode` and the generation steps (summary, draft) on `gpu-generate`, so
# hosts can specialise.
TRIAGE_QUEUE_TOPOLOGY = env.str(
    "TRIAGE_QUEUE_TOPOLOGY", "single", validate=validate.OneOf(["single", "split"])
)
# stage -> the queue its tasks go to.
TRIAGE_STAGE_QUEUES = (
    {"encode": "gpu-encode", "generate": "gpu-generate"}
    if TRIAGE_QUEUE_TOPOLOGY == "split"
    else {"encode": "gpu", "generate": "gpu"}
)
CELERY_TASK_ROUTES = {
    # Exact names win over the patterns below (Celery's MapRoute).
    "triage.generate": {"queue": TRIAGE_STAGE_QUEUES["generate"]},
    "triage.*": {"queue": TRIAGE_STAGE_QUEUES["encode"]},
    "mail.*": {"queue": "mail"},
    "ops.*": {"queue": "default"},
}
CELERY_TASK_SOFT_TIME_LIMIT = env.int("TRIAGE_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env.int("TRIAGE_TASK_TIME_LIMIT", 360)
_KEY_PREFIX = env.str("CELERY_KEY_PREFIX", "")
# Above the hard time limit, so Redis never redelivers a task that is still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("TRIAGE_VISIBILITY_TIMEOUT", 3600),
    "global_keyprefix": _KEY_PREFIX,
    # How often workers look for unacked tasks of dead workers to redeliver:
    # roughly interval * throttle seconds after the visibility timeout.
    "unacked_restore_interval": env.int("TRIAGE_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env.int("TRIAGE_RESTORE_THROTTLE", 10),
}
# Redis Sentinel: CELERY_BROKER_URL=sentinel://s1:26379;sentinel://s2:26379 and
# the master's name here (kombu's transport option).
TRIAGE_BROKER_SENTINEL_MASTER = env.str("TRIAGE_BROKER_SENTINEL_MASTER", "")
TRIAGE_BROKER_SENTINEL_PASSWORD = env.str("TRIAGE_BROKER_SENTINEL_PASSWORD", "")
if TRIAGE_BROKER_SENTINEL_MASTER:
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = TRIAGE_BROKER_SENTINEL_MASTER
    if TRIAGE_BROKER_SENTINEL_PASSWORD:
        CELERY_BROKER_TRANSPORT_OPTIONS["sentinel_kwargs"] = {
            "password": TRIAGE_BROKER_SENTINEL_PASSWORD
        }
# TLS to Redis: a rediss:// URL; the CA bundle and verification from here.
_CERT_REQS = {
    "required": ssl.CERT_REQUIRED,
    "optional": ssl.CERT_OPTIONAL,
    "none": ssl.CERT_NONE,
}
TRIAGE_BROKER_TLS_CA_FILE = env.str("TRIAGE_BROKER_TLS_CA_FILE", "")
TRIAGE_BROKER_TLS_CERT_REQS = env.str(
    "TRIAGE_BROKER_TLS_CERT_REQS",
    "required",
    validate=validate.OneOf(list(_CERT_REQS)),
)
if CELERY_BROKER_URL.startswith("rediss://") or TRIAGE_BROKER_TLS_CA_FILE:
    CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": _CERT_REQS[TRIAGE_BROKER_TLS_CERT_REQS]}
    if TRIAGE_BROKER_TLS_CA_FILE:
        CELERY_BROKER_USE_SSL["ssl_ca_certs"] = TRIAGE_BROKER_TLS_CA_FILE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Messages left in `received` this long (seconds) without a live task are
# re-enqueued by the sweeper.
TRIAGE_SWEEP_AFTER = env.int("TRIAGE_SWEEP_AFTER", 120)
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-messages": {
        "task": "ops.sweep",
        "schedule": env.float("TRIAGE_SWEEP_EVERY", 60.0),
    },
}
# celery beat keeps its schedule in Redis (celery-redbeat) behind a lock: a second
# beat (a restart overlapping the old container, two hosts) waits as a standby and
# takes over within the lock timeout once the first is gone, never both sending.
CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 5
CELERY_REDBEAT_KEY_PREFIX = f"{_KEY_PREFIX}redbeat:"
CELERY_REDBEAT_LOCK_TIMEOUT = env.int("TRIAGE_BEAT_LOCK_TIMEOUT", 30)
# redbeat's own connection: the broker's Redis, with the same Sentinel/TLS set-up.
CELERY_REDBEAT_REDIS_URL = CELERY_BROKER_URL
CELERY_REDBEAT_REDIS_OPTIONS: dict = {}
if TRIAGE_BROKER_SENTINEL_MASTER:
    _parts = [urlsplit(part) for part in CELERY_BROKER_URL.split(";")]
    CELERY_REDBEAT_REDIS_URL = "redis-sentinel://"
    CELERY_REDBEAT_REDIS_OPTIONS = {
        "sentinels": [(part.hostname, part.port or 26379) for part in _parts],
        "service_name": TRIAGE_BROKER_SENTINEL_MASTER,
        # The master's password rides in the broker URL, as kombu reads it.
        "password": _parts[0].password,
    }
    if TRIAGE_BROKER_SENTINEL_PASSWORD:
        CELERY_REDBEAT_REDIS_OPTIONS["sentinel_kwargs"] = {
            "password": TRIAGE_BROKER_SENTINEL_PASSWORD
        }
if CELERY_BROKER_URL.startswith("rediss://") or TRIAGE_BROKER_TLS_CA_FILE:
    CELERY_REDBEAT_REDIS_USE_SSL = CELERY_BROKER_USE_SSL
# Publishing must not hang a webhook when Redis is down: fail fast, the sweeper
# re-enqueues messages left in `received`. Kombu's defaults retry the connection
# for broker_connection_timeout (2 s) and a silent host for the OS connect timeout;
# this bounds one publish attempt (connect included) to TRIAGE_PUBLISH_TIMEOUT,
# two attempts in all (bench/broker_down.py measures the cost per ingest).
TRIAGE_PUBLISH_TIMEOUT = env.float("TRIAGE_PUBLISH_TIMEOUT", 0.25)
CELERY_BROKER_CONNECTION_TIMEOUT = TRIAGE_PUBLISH_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] = TRIAGE_PUBLISH_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS["connect_retries_timeout"] = TRIAGE_PUBLISH_TIMEOUT
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0.1,
    "interval_step": 0.1,
}

# --- Triage ----------------------------------------------------------------------
TRIAGE_TINY_DIR = env.path("TRIAGE_TINY_DIR", VAR_DIR / "models" / "tiny")
# Offline classifier heads (`manage.py train_heads`); workers.nlp.offline computes
# the same default from the environment.
TRIAGE_HEADS_DIR = env.path("TRIAGE_HEADS_DIR", VAR_DIR / "models" / "heads")
TRIAGE_MODELS_PROFILE = env.str("TRIAGE_MODELS", "hub")
try:
    TRIAGE_MODELS = resolve_models(
        TRIAGE_MODELS_PROFILE, tiny_dir=TRIAGE_TINY_DIR, heads_dir=TRIAGE_HEADS_DIR
    )
except (ProfileError, ValueError) as exc:
    raise ImproperlyConfigured(f"TRIAGE_MODELS: {exc}") from exc
# What agents read (translations shown side by side) and what the analysis models
# read (mail in another language is translated into it first).
TRIAGE_AGENT_LANGUAGE = env.str("TRIAGE_AGENT_LANGUAGE", "en")
TRIAGE_ANALYSIS_LANGUAGE = env.str("TRIAGE_ANALYSIS_LANGUAGE", "en")
# Per-step backend for text-to-text steps: translation/summary "seq2seq"|"chat",
# answer "extractive"|"chat", draft "causal"|"chat".
TRIAGE_BACKENDS = env.json("TRIAGE_BACKENDS", {})
TRIAGE_INTENT_LABELS = env.list(
    "TRIAGE_INTENT_LABELS",
    [
        "refund",
        "exchange",
        "wrong item",
        "damaged",
        "late delivery",
        "billing",
        "account",
        "other",
    ],
)
# Languages customers write in: `download_models` fetches a translation model for
# each pair with the agents' and the analysis language.
# TRIAGE_LANGUAGES is the newer name; TRIAGE_CUSTOMER_LANGUAGES still works.
TRIAGE_CUSTOMER_LANGUAGES = env.list(
    "TRIAGE_LANGUAGES",
    env.list("TRIAGE_CUSTOMER_LANGUAGES", ["de", "fr", "es", "it", "nl"]),
)
# The overview's charts are cached this long (seconds; 0: computed per request).
TRIAGE_OVERVIEW_CACHE_SECONDS = env.int("TRIAGE_OVERVIEW_CACHE_SECONDS", 60)
if TRIAGE_OVERVIEW_CACHE_SECONDS > 0:
    # The overview's numbers recomputed in the background, so no team lead's
    # request pays the cold aggregates (0.8 s at 1M tickets); with CACHE_URL.
    CELERY_BEAT_SCHEDULE["refresh-overview"] = {
        "task": "ops.overview_refresh",
        "schedule": float(TRIAGE_OVERVIEW_CACHE_SECONDS),
    }
# The ticket page asks for news (triage done, reply sent, who else is on it) this
# often; a colleague's presence is forgotten this long after their last beat.
TRIAGE_LIVE_POLL_SECONDS = env.float("TRIAGE_LIVE_POLL_SECONDS", 5.0)
TRIAGE_PRESENCE_SECONDS = env.int("TRIAGE_PRESENCE_SECONDS", 30)
TRIAGE_LANGUAGES = TRIAGE_CUSTOMER_LANGUAGES
# Mail that no model here reads (its language has no translation model and no
# step reads it): the ticket is flagged "not analysed" and routed like this
# instead of by a model's guess. "priority": urgent|high|normal|low; "assignees":
# language -> username of an agent who reads it (the "needs a German speaker"
# queue). JSON, e.g. {"priority": "high", "assignees": {"de": "hans"}}.
TRIAGE_NOT_ANALYSED = {
    "priority": "high",
    "assignees": {},
    **env.json("TRIAGE_NOT_ANALYSED", {}),
}
# step -> languages its configured model reads, where the model is not the
# step's default (a multilingual sentiment model: {"sentiment": ["en", "de"]}).
TRIAGE_STEP_LANGUAGES = env.json("TRIAGE_STEP_LANGUAGES", {})
TRIAGE_BATCH_SIZE = env.int("TRIAGE_BATCH_SIZE", 16)
TRIAGE_SHOP_NAME = env.str("TRIAGE_SHOP_NAME", "Example Shop")
TRIAGE_SUPPORT_ADDRESS = env.str("TRIAGE_SUPPORT_ADDRESS", "support@example-shop.test")
TRIAGE_AGENT_SIGNATURE = env.str("TRIAGE_AGENT_SIGNATURE", "Customer Service")
# Which replies need an approver (issue 15): "model_drafts" (the model's drafts
# do, an agent's own reply may be sent at once) or "all" (every reply does).
TRIAGE_REPLY_APPROVAL = env.str(
    "TRIAGE_REPLY_APPROVAL",
    "model_drafts",
    # A marshmallow validator, not a lambda: marshmallow 4 ignores a validator's
    # return value, so `lambda v: v in (...)` accepted anything.
    validate=validate.OneOf(["model_drafts", "all"]),
)
TRIAGE_MAX_ATTEMPTS = env.int("TRIAGE_MAX_ATTEMPTS", 3)
# Seconds; retry n waits a random time up to factor * 2**n (full jitter), max 300.
TRIAGE_RETRY_BACKOFF = env.float("TRIAGE_RETRY_BACKOFF", 5.0)
# Raw MIME kept per message; above this only the head is stored and flagged.
TRIAGE_RAW_MAX_BYTES = env.int("TRIAGE_RAW_MAX_BYTES", 10 * 2**20)
TRIAGE_ATTACHMENT_MAX_BYTES = env.int("TRIAGE_ATTACHMENT_MAX_BYTES", 10 * 2**20)
TRIAGE_ATTACHMENT_MAX_COUNT = env.int("TRIAGE_ATTACHMENT_MAX_COUNT", 20)
# Files an agent attaches to one reply (issue 15): their total size and count.
# Django buffers uploads over FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file.
TRIAGE_REPLY_ATTACHMENTS_MAX_BYTES = env.int(
    "TRIAGE_REPLY_ATTACHMENTS_MAX_BYTES", 10 * 2**20
)
TRIAGE_REPLY_ATTACHMENTS_MAX_COUNT = env.int("TRIAGE_REPLY_ATTACHMENTS_MAX_COUNT", 10)
# MIME parts the parser walks per mail (issue 10): 100k tiny parts cost ~25 s to
# parse. Past the cap the raw is still kept whole and the mail flagged.
TRIAGE_MIME_MAX_PARTS = env.int("TRIAGE_MIME_MAX_PARTS", 1000)
# Text handed to the models is capped; the full text stays stored.
TRIAGE_MODEL_TEXT_MAX_CHARS = env.int("TRIAGE_MODEL_TEXT_MAX_CHARS", 20000)
# A GPU worker refuses to start when a configured Hub model is not in its local
# cache and the Hub cannot be reached (workers/preflight.py).
TRIAGE_WORKER_MODEL_CHECK = env.bool("TRIAGE_WORKER_MODEL_CHECK", True)
# A worker that runs model steps loads their models when it starts, in the
# background, rather than in its first task (workers/warmup.py).
TRIAGE_WORKER_PRELOAD = env.bool("TRIAGE_WORKER_PRELOAD", True)
# Written (JSON: pid, steps, seconds) once a worker's models are loaded and warmed
# up; removed when the worker starts. The compose health check tests for it.
TRIAGE_WORKER_READY_FILE = env.str("TRIAGE_WORKER_READY_FILE", "")

# --- Webhooks / IMAP -------------------------------------------------------------
# An endpoint whose secret is unset refuses every request (401).
MAILGUN_WEBHOOK_SIGNING_KEY = env.str("MAILGUN_WEBHOOK_SIGNING_KEY", "")
TRIAGE_WEBHOOK_SECRET = env.str("TRIAGE_WEBHOOK_SECRET", "")  # raw MIME HMAC
INBOUND_BASIC_AUTH = env.str("INBOUND_BASIC_AUTH", "")  # "user:password"
_basic_user, _colon, _basic_password = INBOUND_BASIC_AUTH.partition(":")
if INBOUND_BASIC_AUTH and not (_colon and _basic_user and _basic_password):
    # ":" or "user:" would let an empty credential through.
    raise ImproperlyConfigured(
        "INBOUND_BASIC_AUTH must be 'user:password' with a non-empty user and "
        "password (or unset to refuse every basic-auth webhook)."
    )
# SendGrid cannot sign: either basic auth or this secret as the last URL segment.
SENDGRID_WEBHOOK_URL_SECRET = env.str("SENDGRID_WEBHOOK_URL_SECRET", "")
# Whole request body, checked before parsing (413). Postmark posts up to 35 MB of
# JSON, SendGrid 30 MB, Mailgun 25 MB of mail; Django's DATA_UPLOAD_MAX_MEMORY_SIZE
# does not apply: the webhook views read the body themselves (triage/webhooks).
# The Caddy profile caps request bodies at the same size.
TRIAGE_WEBHOOK_MAX_BYTES = env.int("TRIAGE_WEBHOOK_MAX_BYTES", 40 * 2**20)
TRIAGE_WEBHOOK_TOLERANCE_SECONDS = env.int("TRIAGE_WEBHOOK_TOLERANCE_SECONDS", 300)
# Archive attachments (zip, gzip) are judged by the sizes they declare, never
# extracted; past a cap they are flagged and not stored.
TRIAGE_ARCHIVE_MAX_UNCOMPRESSED_BYTES = env.int(
    "TRIAGE_ARCHIVE_MAX_UNCOMPRESSED_BYTES", 100 * 2**20
)
TRIAGE_ARCHIVE_MAX_RATIO = env.float("TRIAGE_ARCHIVE_MAX_RATIO", 100.0)
TRIAGE_ARCHIVE_MAX_MEMBERS = env.int("TRIAGE_ARCHIVE_MAX_MEMBERS", 1000)
IMAP_HOST = env.str("IMAP_HOST", "")
IMAP_PORT = env.int("IMAP_PORT", 993)
IMAP_USER = env.str("IMAP_USER", "")
IMAP_PASSWORD = env.str("IMAP_PASSWORD", "")  # or an app password
IMAP_FOLDER = env.str("IMAP_FOLDER", "INBOX")
IMAP_CAFILE = env.str("IMAP_CAFILE", "")  # extra CA bundle (self-hosted)
IMAP_BATCH = env.int("IMAP_BATCH", 50)
# A fetched mail that cannot be stored is moved to this folder, or (unset) given the
# keyword `$TriageFailed` and skipped by later polls, never fetched forever
# (issue 10). Either way it is logged with its error.
IMAP_FAILED_FOLDER = env.str("IMAP_FAILED_FOLDER", "")
IMAP_POLL_SECONDS = env.float("IMAP_POLL_SECONDS", 60.0)
if IMAP_HOST:
    CELERY_BEAT_SCHEDULE["mail-imap-poll"] = {
        "task": "mail.imap_poll",
        "schedule": IMAP_POLL_SECONDS,
        # A poll that waited longer than one interval is superseded by the next.
        "options": {"expires": IMAP_POLL_SECONDS},
    }

# --- Email / dashboard -----------------------------------------------------------
# Approved replies go out through Django's SMTP backend (the `mail` queue) in
# production. Development (`make demo`) writes them to a local outbox folder
# instead; either way the sent reply is recorded in the ticket's thread and in the
# dashboard's Outbox. A real relay is `EMAIL_BACKEND=...smtp.EmailBackend` + host.
TRIAGE_OUTBOX_DIR = env.path("TRIAGE_OUTBOX_DIR", VAR_DIR / "outbox")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = TRIAGE_OUTBOX_DIR
EMAIL_HOST = env.str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", f"{TRIAGE_SHOP_NAME} Support <{TRIAGE_SUPPORT_ADDRESS}>"
)
SERVER_EMAIL = env.str("SERVER_EMAIL", TRIAGE_SUPPORT_ADDRESS)
TRIAGE_SEND_MAX_ATTEMPTS = env.int("TRIAGE_SEND_MAX_ATTEMPTS", 5)
# Auto-acknowledgement (issue 15): a receipt (templates/email/autoack.txt) sent
# once per new ticket, never to automated mail; off unless switched on.
TRIAGE_AUTOACK = env.bool("TRIAGE_AUTOACK", False)
# Acks per sender address per hour; past it a new ticket gets none (loop guard).
TRIAGE_AUTOACK_MAX_PER_SENDER_HOUR = env.int(
    "TRIAGE_AUTOACK_MAX_PER_SENDER_HOUR", 3, validate=validate.Range(min=0)
)
# A send claimed longer ago than this is presumed dead (longer than the mail task's
# hard time limit): its outcome is unknown and an approver decides, never a retry.
TRIAGE_SEND_LEASE_SECONDS = env.int("TRIAGE_SEND_LEASE_SECONDS", 300)
# SLA policies (issue 15): targets per priority are counted in business hours,
# the team's working week in its own time zone.
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# (environs 15 ignores a validator's False: marshmallow validators raise.)
TRIAGE_BUSINESS_DAYS = [
    _WEEKDAYS.index(day)
    for day in env.list(
        "TRIAGE_BUSINESS_DAYS",
        ["mon", "tue", "wed", "thu", "fri"],
        validate=[validate.Length(min=1), validate.ContainsOnly(_WEEKDAYS)],
    )
]
TRIAGE_BUSINESS_START_HOUR = env.int(
    "TRIAGE_BUSINESS_START_HOUR", 9, validate=validate.Range(min=0, max=23)
)
TRIAGE_BUSINESS_END_HOUR = env.int(
    "TRIAGE_BUSINESS_END_HOUR", 17, validate=validate.Range(min=1, max=24)
)
if TRIAGE_BUSINESS_END_HOUR <= TRIAGE_BUSINESS_START_HOUR:
    raise ImproperlyConfigured(
        "TRIAGE_BUSINESS_END_HOUR must be later than TRIAGE_BUSINESS_START_HOUR."
    )
TRIAGE_BUSINESS_TIMEZONE = env.str(
    "TRIAGE_BUSINESS_TIMEZONE",
    TIME_ZONE,
    # Refused at start, not at the first mail's ingest.
    validate=validate.OneOf(sorted(available_timezones()), error="Unknown time zone"),
)
# An open ticket due within this many hours is "at risk" in the list's filter.
TRIAGE_SLA_AT_RISK_HOURS = env.float("TRIAGE_SLA_AT_RISK_HOURS", 2.0)
# Set on every response by triage.middleware: email content is shown in the
# dashboard, so no inline script, no plugin, no framing, no remote images.
TRIAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)

# The REST API (/api/v1/, triage.api): tokens for scripts, sessions for the
# browsable API; the dashboard's roles decide what each user may do.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "triage.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["triage.api.permissions.RolePermission"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "triage.api.renderers.CspBrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["triage.api.permissions.TokenRateThrottle"],
    # Requests per token (per user for sessions), e.g. 600/minute.
    "DEFAULT_THROTTLE_RATES": {"api": env.str("TRIAGE_API_RATE", "600/minute")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Outgoing webhooks (triage.services.outgoing_webhooks): private, loopback and
# link-local targets are refused unless allowed (a receiver on the same host).
TRIAGE_WEBHOOKS_ALLOW_PRIVATE = env.bool("TRIAGE_WEBHOOKS_ALLOW_PRIVATE", False)
TRIAGE_WEBHOOKS_TIMEOUT_SECONDS = env.float("TRIAGE_WEBHOOKS_TIMEOUT_SECONDS", 10.0)
TRIAGE_WEBHOOKS_MAX_ATTEMPTS = env.int("TRIAGE_WEBHOOKS_MAX_ATTEMPTS", 8)
# Retry n waits up to min(MAX, BACKOFF * 2**n) seconds (full jitter): with the
# defaults 8 attempts span about an hour.
TRIAGE_WEBHOOKS_RETRY_BACKOFF_SECONDS = env.float(
    "TRIAGE_WEBHOOKS_RETRY_BACKOFF_SECONDS", 30.0
)
TRIAGE_WEBHOOKS_RETRY_MAX_SECONDS = env.float(
    "TRIAGE_WEBHOOKS_RETRY_MAX_SECONDS", 3600.0
)
# PEM file of the CAs HTTPS receivers' certificates are checked against (an
# internal CA); empty: the system's trust store.
TRIAGE_WEBHOOKS_CA_FILE = env.str("TRIAGE_WEBHOOKS_CA_FILE", "")
# A subscription is disabled after this many failed deliveries in a row.
TRIAGE_WEBHOOKS_DISABLE_AFTER = env.int("TRIAGE_WEBHOOKS_DISABLE_AFTER", 20)
SPECTACULAR_SETTINGS = {
    "TITLE": "triage API",
    "DESCRIPTION": "Tickets, drafts and their approval: what the dashboard does.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Docs assets from the app (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "triage.models.Ticket.Status",
        "DraftStatusEnum": "triage.models.ReplyDraft.Status",
    },
}

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
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
}
