"""`make prod-smoke`: the production stack as docker-compose.yml runs it, minus Docker.

The command lines are read from docker-compose.yml (init, web, the GPU worker,
beat) with the environment Compose would give them: `.env.example` as the
env_file (its blanks filled with fresh secrets), then each service's
`environment:`, interpolated. Only the addresses differ: the local PostgreSQL
(a database of our own), the local Redis (a private key prefix), free ports,
tiny models, a temporary var folder. The Dockerfile's collectstatic step runs
first, as the image build does.

Checked: init migrates, passes `check --deploy` and prepares the models; admin
CSS is served by the app with far-future cache headers; plain http is
redirected to https; an admin logs in; a signed raw-MIME webhook is stored and
triaged by the worker; /healthz is green; a second beat stays standby while the
first sends and takes over when it dies; and an error gives the plain 500 page,
never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
import requests

from tests.compose import (
    env_example_values,
    interpolate,
    load_compose,
    service_command,
    service_environment,
)
from tests.conftest import REPO, SAMPLES, TINY_DIR
from tests.e2e.processes import free_port
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e]

HTTPS = {"X-Forwarded-Proto": "https"}  # what the Caddy profile adds


class Process:
    """A command line in its own session, output in a file (never a full pipe)."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        self.name = name
        self.log_path = Path(tempfile.mkstemp(prefix=f"smoke-{name}-")[1])
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=REPO,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log:
                return
            assert self.proc.poll() is None, f"{self.name} exited:\n{self.log}"
            time.sleep(0.2)
        raise AssertionError(f"{self.name} never logged {text!r}:\n{self.log}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def _services_or_skip() -> tuple[str, str]:
    database = os.environ.get("DATABASE_URL", "")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not (database.startswith("postgres") and broker.startswith("redis")):
        message = "the production smoke test needs PostgreSQL and Redis"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return database, broker


@pytest.fixture
def smoke_database() -> str:
    """A database of our own on the local PostgreSQL, dropped afterwards."""
    database, _ = _services_or_skip()
    parts = urlsplit(database)
    # Per process: two suites on one host (a CI run beside a developer's) must
    # not drop each other's database.
    name = f"{parts.path.lstrip('/') or 'triage'}_prodsmoke_{os.getpid()}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def smoke_env(smoke_database, tmp_path, tiny_models) -> dict[str, str]:
    """What Compose would pass: .env.example (blanks filled) + the overrides."""
    _, broker = _services_or_skip()
    prefix = f"triage-smoke-{uuid.uuid4().hex[:8]}:"
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "TRIAGE_", "EMAIL_", "CELERY_", "IMAP_"))
        and k not in {"DATABASE_URL", "SECRET_KEY"}
    }
    env_file = env_example_values()
    env_file.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        POSTGRES_PASSWORD=secrets.token_urlsafe(16),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        TRIAGE_WEBHOOK_SECRET=secrets.token_urlsafe(32),
        INBOUND_BASIC_AUTH=f"postmark:{secrets.token_urlsafe(16)}",
        MAILGUN_WEBHOOK_SIGNING_KEY=secrets.token_hex(16),
        # The local services instead of the compose network's.
        DATABASE_URL=smoke_database,
        CELERY_BROKER_URL=broker,
        CELERY_KEY_PREFIX=prefix,
        # Tiny models, private folders, small and quick.
        TRIAGE_MODELS="tiny",
        TRIAGE_TINY_DIR=str(TINY_DIR),
        TRIAGE_VAR_DIR=str(tmp_path / "var"),
        GUNICORN_BIND=f"127.0.0.1:{free_port()}",
        WEB_CONCURRENCY="2",
        TRIAGE_SWEEP_EVERY="2",
        TRIAGE_BEAT_LOCK_TIMEOUT="10",
        HF_HUB_OFFLINE="1",
    )
    venv_bin = str(Path(sys.executable).parent)
    env = {**base, **env_file, "PATH": f"{venv_bin}:{base.get('PATH', '')}"}
    yield env
    client = redis.Redis.from_url(broker)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def service_env(name: str, env: Mapping[str, str]) -> dict[str, str]:
    service = load_compose()["services"][name]
    return {**env, **service_environment(service, env)}


def run_service(name: str, env: Mapping[str, str], **kw) -> Process:
    service = load_compose()["services"][name]
    return Process(kw.get("label", name), service_command(service, env), env)


def cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def test_production_stack_as_composed(smoke_env):
    env = smoke_env
    compose = load_compose()
    services = compose["services"]
    started: list[Process] = []
    try:
        _smoke(env, services, started)
    finally:
        for process in started:
            process.stop()


def _smoke(env, services, started) -> None:
    # --- The image build's collectstatic, then the init service. ---
    assert "manage.py collectstatic --noinput" in (REPO / "Dockerfile").read_text()
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=REPO,
        env={**env, "TRIAGE_ENV": "production"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collect.returncode == 0, collect.stdout + collect.stderr
    init_env = service_env("init", env)
    assert init_env["TRIAGE_ENV"] == "production"
    init = subprocess.run(
        service_command(services["init"], init_env),
        cwd=REPO,
        env=init_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    init_log = init.stdout + init.stderr
    assert init.returncode == 0, init_log
    assert "System check identified no issues" in init_log  # check --deploy clean
    assert "model(s) ready" in init_log

    # README "Deploy": the first admin user.
    admin_password = secrets.token_urlsafe(18)
    created = subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput"],
        cwd=REPO,
        env={
            **init_env,
            "DJANGO_SUPERUSER_USERNAME": "admin",
            "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
            "DJANGO_SUPERUSER_PASSWORD": admin_password,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stdout + created.stderr

    # --- web, GPU worker (tiny models), beat: the compose command lines. ---
    web_env = service_env("web", env)
    web = run_service("web", web_env)
    started.append(web)
    worker_env = service_env("worker", env)
    # The container's path, moved into this test's directory (runs side by side).
    assert worker_env["TRIAGE_WORKER_READY_FILE"] == "/tmp/triage-worker-ready"
    worker_env["TRIAGE_WORKER_READY_FILE"] = str(Path(env["TRIAGE_VAR_DIR"]) / "ready")
    Path(worker_env["TRIAGE_WORKER_READY_FILE"]).parent.mkdir(
        parents=True, exist_ok=True
    )
    Path(worker_env["TRIAGE_WORKER_READY_FILE"]).write_text("stale\n")
    worker = run_service("worker", worker_env)
    started.append(worker)
    beat = run_service("beat", service_env("beat", env))
    started.append(beat)
    base = f"http://{env['GUNICORN_BIND']}"

    answers: list[requests.Response] = []

    def healthz_answers() -> bool:
        assert web.proc.poll() is None, web.log
        try:
            answers.append(requests.get(f"{base}/healthz", timeout=30))
        except requests.ConnectionError:
            return False
        return True

    wait_until(healthz_answers, timeout=120, what="/healthz", log=web.log)
    health = answers[-1]
    assert health.status_code == 200, health.text
    assert health.json()["ok"] is True
    assert health.json()["broker"]["ok"] is True

    # Plain http is sent to https (production settings behind the proxy).
    plain = requests.get(f"{base}/admin/login/", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")

    # --- Static files from the app: hashed name, far-future cache, compressed. ---
    login_page = requests.get(f"{base}/admin/login/", headers=HTTPS, timeout=10)
    assert login_page.status_code == 200
    css = re.search(
        r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login_page.text
    )
    assert css, login_page.text[:2000]
    static = requests.get(
        base + css.group(1), headers={**HTTPS, "Accept-Encoding": "gzip"}, timeout=10
    )
    assert static.status_code == 200
    assert "text/css" in static.headers["Content-Type"]
    cache = static.headers["Cache-Control"]
    assert "max-age=315360000" in cache and "immutable" in cache
    assert static.headers.get("Content-Encoding") == "gzip"
    assert "#header" in static.text or "body" in static.text
    assert "Strict-Transport-Security" in login_page.headers

    # --- Login, as a browser behind the proxy does (secure cookies). ---
    jar = dict(login_page.cookies)
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text
    ).group(1)
    origin = f"https://{env['GUNICORN_BIND']}"
    posted = requests.post(
        f"{base}/admin/login/?next=/admin/triage/ticket/",
        data={
            "csrfmiddlewaretoken": token,
            "username": "admin",
            "password": admin_password,
            "next": "/admin/triage/ticket/",
        },
        headers={
            **HTTPS,
            "Cookie": cookie_header(jar),
            "Origin": origin,
            "Referer": f"{origin}/admin/login/",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert posted.status_code == 302, posted.text[:2000]
    assert "Secure" in posted.headers["Set-Cookie"]
    jar.update(posted.cookies)
    assert "sessionid" in jar
    tickets = requests.get(
        f"{base}/admin/triage/ticket/",
        headers={**HTTPS, "Cookie": cookie_header(jar)},
        allow_redirects=False,
        timeout=20,
    )
    assert tickets.status_code == 200
    assert "Select ticket to change" in tickets.text or "ticket" in tickets.text

    # --- A signed webhook: stored, then triaged by the worker. ---
    worker.wait_for(" ready.", timeout=180)
    # The worker's health check: unhealthy until its models are loaded (the
    # stale file of an earlier run is gone), then healthy.
    check = services["worker"]["healthcheck"]["test"]
    assert check[0] == "CMD-SHELL"
    command = interpolate(check[1], env)  # as compose hands it to the container

    def healthy() -> bool:
        return subprocess.run(["sh", "-c", command], env=worker_env).returncode == 0

    # The file is written after the log line: healthy before it means the
    # stale file survived the start.
    if healthy():
        assert "models ready" in worker.log, worker.log
    worker.wait_for("models ready", timeout=300)
    assert "warm-up done" in worker.log, worker.log[-5000:]
    wait_until(healthy, timeout=10, what="worker health check", log=worker.log)
    ready = json.loads(Path(worker_env["TRIAGE_WORKER_READY_FILE"]).read_text())
    assert "draft" in ready["steps"] and ready["warm_up_failed"] == []
    raw = (SAMPLES / "01-bumblebee.eml").read_bytes()
    signature = hmac.new(
        env["TRIAGE_WEBHOOK_SECRET"].encode(), raw, hashlib.sha256
    ).hexdigest()
    hook = requests.post(
        f"{base}/webhooks/mime/",
        data=raw,
        headers={
            **HTTPS,
            "Content-Type": "message/rfc822",
            "X-Triage-Signature": f"sha256={signature}",
        },
        timeout=30,
    )
    assert hook.status_code == 200, hook.text
    assert hook.json()["status"] == "stored"
    message_id = hook.json()["message"]
    unsigned = requests.post(
        f"{base}/webhooks/mime/",
        data=raw,
        headers={**HTTPS, "Content-Type": "message/rfc822"},
        timeout=30,
    )
    assert unsigned.status_code == 401

    status = None
    deadline = time.monotonic() + 300
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        while time.monotonic() < deadline:
            status = conn.execute(
                "SELECT triage_status FROM triage_message WHERE id = %s",
                (message_id,),
            ).fetchone()[0]
            if status in ("triaged", "failed"):
                break
            assert worker.proc.poll() is None, worker.log
            time.sleep(1)
        steps = conn.execute(
            "SELECT count(*) FROM triage_analysis WHERE message_id = %s",
            (message_id,),
        ).fetchone()[0]
    assert status == "triaged", worker.log[-5000:]
    assert steps >= 5
    health = requests.get(f"{base}/healthz", timeout=10).json()
    assert health["ok"] is True

    # --- beat: one sends, a second waits; the second takes over. ---
    beat.wait_for("Sending due task sweep-stuck-messages", timeout=60)
    beat2 = run_service("beat", service_env("beat", env), label="beat2")
    started.append(beat2)
    time.sleep(6)  # three sweep periods
    assert beat2.proc.poll() is None, beat2.log
    assert "Sending due task" not in beat2.log
    beat.stop(signal.SIGKILL)  # no clean release of the lock
    beat2.wait_for("Sending due task sweep-stuck-messages", timeout=60)

    # --- An error: the plain 500 page, no traceback (DEBUG off). ---
    with psycopg.connect(
        urlunsplit(urlsplit(env["DATABASE_URL"])._replace(path="/postgres")),
        autocommit=True,
    ) as conn:
        name = urlsplit(env["DATABASE_URL"]).path.lstrip("/")
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    broken = requests.get(
        f"{base}/admin/triage/ticket/",
        headers={**HTTPS, "Cookie": cookie_header(jar)},
        allow_redirects=False,
        timeout=30,
    )
    assert broken.status_code == 500
    assert "Server Error (500)" in broken.text
    for leak in ("Traceback", "OperationalError", "psycopg", "SECRET_KEY", "DEBUG"):
        assert leak not in broken.text
    assert "Traceback" in web.log  # logged for the operator instead
