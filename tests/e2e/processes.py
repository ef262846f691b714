"""Real processes for end-to-end tests: a Celery worker and a private Redis."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from django.db import connection

from tests.conftest import REPO, TINY_DIR


def database_url() -> str:
    """The test database as a URL, for processes started by a test."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "TRIAGE_MODELS": "tiny",
        "TRIAGE_TINY_DIR": str(TINY_DIR),
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


def reset_broker(queues: Sequence[str] = ("gpu", "default", "mail")) -> None:
    """Empty this test run's queues, unacked tasks included: tasks left by an
    earlier test name rows that no longer exist (or, worse, reused ids)."""
    from workers.celery import app

    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in queues:
            channel.queue_purge(queue)
        # The channel's client adds the global key prefix itself.
        channel.client.delete(channel.unacked_key, channel.unacked_index_key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CeleryWorker:
    """`celery -A workers worker` in its own process, its output collected."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        pool: str = "solo",
        queues: Sequence[str] = ("gpu", "default"),
    ) -> None:
        self.name = f"e2e-{uuid.uuid4().hex[:8]}@%h"
        # A file, not a pipe: a worker must never block on a full pipe while a
        # test is busy elsewhere (its timers and logging would stall with it).
        self.log_path = Path(tempfile.mkstemp(prefix="celery-", suffix=".log")[1])
        self._log_file = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers",
                "worker",
                f"--pool={pool}",
                "--concurrency=1",
                "--prefetch-multiplier=1",
                "-Q",
                ",".join(queues),
                "-n",
                self.name,
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=REPO,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so kill() reaches a prefork child too
        )

    @property
    def lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker never logged {text!r}:\n{self.log}")

    def wait_ready(self, timeout: float = 120) -> CeleryWorker:
        try:
            self.wait_for(" ready.", timeout)
        except AssertionError:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL, as the OOM killer would: no cleanup, no ack."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class PrivateRedis:
    """A redis-server of our own on a free port: stopping it hurts no one else."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server not installed"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
