"""gunicorn settings for the web service: `gunicorn -c python:triage.gunicorn ...`.

Read from the environment (documented in .env.example). Defaults suit a 2-8 core
host: one process per core (at least 2, at most 8), each with 4 threads
(gthread), so a slow webhook upload or a long admin page does not hold a whole
process; the webhook views are I/O-bound (database, Redis).
"""

from __future__ import annotations

import os

from environs import Env

env = Env()

_cores = os.cpu_count() or 2

bind = env.str("GUNICORN_BIND", "0.0.0.0:8000")
workers = env.int("WEB_CONCURRENCY", min(max(_cores, 2), 8))
threads = env.int("GUNICORN_THREADS", 4)
worker_class = "gthread"
# A request still running after this is cut off (and logged): webhooks answer in
# milliseconds, a 40 MiB upload over a slow link in well under a minute.
timeout = env.int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
# Recycle processes now and then (slow leaks in third-party code).
max_requests = env.int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
# X-Forwarded-* is trusted from these peers only (the reverse proxy). The compose
# network's proxy is not at a fixed address, hence "*" there, with the web port
# bound to 127.0.0.1 on the host.
forwarded_allow_ips = env.str("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
errorlog = "-"
# Off unless asked for ("-" = stdout): an access log line carries the path, and
# SendGrid's URL secret is a path segment. Caddy's access log (proxy profile)
# records requests; Django logs every refused webhook by route name.
accesslog = env.str("GUNICORN_ACCESS_LOG", "") or None
