"""The first mail after a worker starts: models loaded at start vs in the task.

    python bench/first_mail.py                    # offline profile
    python bench/first_mail.py --models tiny

Each scenario starts a real `celery worker` (prefork, one child, as in
production) against a private database `triage_first` and the broker under a
private key prefix, ingests the Bumblebee sample through `email_ingest` (as a
webhook would) and times it from ingest to `triaged`, then a second mail once
the first is done:

- ``lazy, at ready``: TRIAGE_WORKER_PRELOAD=false, the mail sent when the
  worker logs " ready.": the first task loads every model.
- ``preload, at ready``: the same moment with the models loading in the
  background since the child started: the task waits for what is not loaded yet.
- ``preload, later``: the mail sent once the worker logs "models ready".
- ``lazy, later``: TRIAGE_WORKER_PRELOAD=false, the mail sent as long after
  " ready." as the preloading worker took to load: the same arrival time.

Writes bench/results/first_mail.json.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.figures import write_figures  # noqa: E402 - after the path set-up above
from bench.host import describe, host  # noqa: E402
from bench.ingest import (  # noqa: E402
    add_service_arguments,
    drop_database,
    purge_prefix,
    recreate_database,
    with_database,
    worker_command,
)

DB = "triage_first"
RESULTS = REPO / "bench" / "results" / "first_mail.json"
SAMPLE = REPO / "samples" / "01-bumblebee.eml"
MODELS_READY = re.compile(r"models ready in ([\d.]+) s")
_numbers = itertools.count(1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="offline", help="TRIAGE_MODELS")
    add_service_arguments(parser)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self.started = time.monotonic()
        self._log = log.open("w")
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed args
            worker_command(
                f"first-{secrets.token_hex(3)}",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ),
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_for(self, text: str, timeout: float) -> float:
        """Seconds since start when ``text`` appeared in the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_path.read_text(errors="replace"):
                return time.monotonic() - self.started
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit(f"worker never logged {text!r}; see {self.log_path}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def mail(run: str) -> bytes:
    n = next(_numbers)
    raw = SAMPLE.read_bytes()
    return re.sub(
        rb"(?im)^Message-ID:.*$",
        f"Message-ID: <first-{run}-{n}@bench.test>".encode(),
        raw,
        count=1,
    )


def time_one(raw: bytes, timeout: float) -> float:
    """Ingest ``raw`` and wait until it is triaged; seconds."""
    from triage.models import Message
    from triage.services import email_ingest

    started = time.monotonic()
    pk = email_ingest(raw, source="bench").message.pk
    deadline = started + timeout
    while time.monotonic() < deadline:
        status = Message.objects.filter(pk=pk).values_list("triage_status", flat=True)[
            0
        ]
        if status == Message.TriageStatus.TRIAGED:
            return time.monotonic() - started
        if status == Message.TriageStatus.FAILED:
            raise SystemExit(f"message {pk} failed to triage")
        time.sleep(0.05)
    raise SystemExit(f"message {pk} not triaged in {timeout:.0f} s")


def scenario(
    name: str,
    env: dict[str, str],
    *,
    preload: bool,
    wait: str | float,
    run: str,
    scratch: Path,
    timeout: float,
) -> dict:
    """One worker: start, wait (for a log line or seconds after ready), two mails."""
    worker = Worker(
        {**env, "TRIAGE_WORKER_PRELOAD": "true" if preload else "false"},
        scratch / f"{name.replace(', ', '-').replace(' ', '_')}.log",
    )
    try:
        ready_s = worker.wait_for(" ready.", timeout)
        if isinstance(wait, str):
            worker.wait_for(wait, timeout)
        else:
            time.sleep(max(0.0, worker.started + ready_s + wait - time.monotonic()))
        sent_s = time.monotonic() - worker.started
        first = time_one(mail(run), timeout)
        second = time_one(mail(run), timeout)
        found = MODELS_READY.search(worker.log_path.read_text(errors="replace"))
    finally:
        worker.stop()
    row = {
        "scenario": name,
        "worker_ready_s": round(ready_s, 2),
        "mail_sent_s": round(sent_s, 2),
        "models_ready_s": float(found.group(1)) if found else None,
        "first_mail_s": round(first, 2),
        "second_mail_s": round(second, 2),
    }
    print(
        f"{name:<20} ready {ready_s:6.1f} s  sent {sent_s:6.1f} s  "
        f"first mail {first:6.2f} s  second {second:6.2f} s"
        + (f"  (models ready in {row['models_ready_s']} s)" if found else ""),
        flush=True,
    )
    return row


def main() -> int:
    args = parse_args()
    run = secrets.token_hex(4)
    prefix = f"triage-first-{run}:"
    database_url = with_database(args.database_url, DB)
    scratch = Path(tempfile.mkdtemp(prefix="triage-first-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": args.broker_url,
        "CELERY_KEY_PREFIX": prefix,
        "TRIAGE_ENV": "development",
        "TRIAGE_MEDIA_ROOT": str(scratch / "media"),
        "TRIAGE_MODELS": args.models,
        "HF_HUB_OFFLINE": "1",
    }
    # This process ingests the mail: the same database, broker and prefix.
    shared = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_KEY_PREFIX", "TRIAGE_ENV")
    os.environ.update({k: env[k] for k in (*shared, "TRIAGE_MEDIA_ROOT")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "triage.settings"
    machine = host()
    print(
        f"first mail after a worker starts, models {args.models}; {describe(machine)}"
    )
    recreate_database(args.database_url, DB)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env,
        check=True,
    )
    import django

    django.setup()
    rows = []
    try:
        common = {"run": run, "scratch": scratch, "timeout": args.timeout}
        rows.append(scenario("lazy, at ready", env, preload=False, wait=0.0, **common))
        rows.append(
            scenario("preload, at ready", env, preload=True, wait=0.0, **common)
        )
        later = scenario(
            "preload, later", env, preload=True, wait="models ready", **common
        )
        rows.append(later)
        same_time = later["mail_sent_s"] - later["worker_ready_s"]
        rows.append(
            scenario("lazy, later", env, preload=False, wait=same_time, **common)
        )
    finally:
        from django.db import connections

        connections.close_all()
        purge_prefix(args.broker_url, prefix)
        drop_database(args.database_url, DB)
    write_figures(args.out, {"models": args.models, "host": machine, "scenarios": rows})
    print(f"worker logs in {scratch}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
