"""Issue 10 item 12: with the database unreachable a webhook answers 503 quickly.

A "database" that accepts TCP connections and never says a word (a dead host
behind a load balancer, a full backlog) made the webhook hang until gunicorn
killed the worker, and the provider saw a dropped connection. libpq's
connect_timeout (DATABASE_CONNECT_TIMEOUT) bounds the connection set-up, and
the webhook answers 503 with Retry-After, which every provider retries. Through a
real gunicorn with the production command line of docker-compose.yml.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import requests

from tests.conftest import REPO, SAMPLES
from tests.e2e.processes import free_port
from tests.waiting import wait_until

SECRET = "raw-mime-secret-for-tests"


class SilentServer:
    """Accepts connections and never answers (nor closes them)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_webhook_answers_503_when_the_database_does_not_answer(tmp_path):
    silent = SilentServer()
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "TRIAGE_", "CELERY_", "DATABASE_"))
    }
    env.update(
        TRIAGE_ENV="production",
        SECRET_KEY="k" * 20 + "-production-secret-for-tests-only-0123456789",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"postgres://triage@127.0.0.1:{silent.port}/triage",
        DATABASE_CONNECT_TIMEOUT="2",
        TRIAGE_WEBHOOK_SECRET=SECRET,
        TRIAGE_VAR_DIR=str(tmp_path / "var"),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    log = Path(tempfile.mkstemp(prefix="gunicorn-")[1])
    with log.open("w") as out:
        server = subprocess.Popen(
            ["gunicorn", "-c", "python:triage.gunicorn", "triage.wsgi:application"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def listening() -> bool:
            assert server.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                return False
            return True

        wait_until(listening, timeout=60, what="gunicorn listening")
        raw = (SAMPLES / "01-bumblebee.eml").read_bytes()
        signature = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        # Without the connect timeout this request hangs until gunicorn's own
        # 60 s timeout kills the worker: the client gives up at 30 s first.
        response = requests.post(
            f"http://127.0.0.1:{port}/webhooks/mime/",
            data=raw,
            headers={
                "X-Forwarded-Proto": "https",
                "Content-Type": "message/rfc822",
                "X-Triage-Signature": f"sha256={signature}",
            },
            timeout=30,
        )
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "60"
        assert response.json() == {"error": "temporarily unavailable"}
        assert silent.held, "the webhook never tried the database"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        silent.close()
