"""Soak: post N emails over the webhook while a real worker drains them.

    python bench/soak.py                 # 1000 emails, tiny models
    python bench/soak.py --count 5000 --concurrency 8

What runs: a private database `triage_soak` (created, migrated, dropped unless
--keep), gunicorn serving the real app on 127.0.0.1, one `celery worker`
(prefork, one child, as in production) with the tiny models, and the load from
a second process posting signed `/webhooks/mime/` requests. The sweeper runs
every few seconds, as celery beat would. At the end it checks, in the database,
that every sent email is stored exactly once and reached a final state
(`triaged` or `failed`) with one set of results, prints the figures and writes
bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.ingest import (  # noqa: E402 - after the path set-up above
    add_service_arguments,
    drop_database,
    free_port,
    make_requests,
    percentile,
    purge_prefix,
    recreate_database,
    run_load,
    wait_until_serving,
    with_database,
    worker_command,
)

SOAK_DB = "triage_soak"
RESULTS = REPO / "bench" / "results" / "soak.json"
FINAL = ("triaged", "failed")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--drain-timeout", type=float, default=1800)
    add_service_arguments(parser)
    parser.add_argument("--keep", action="store_true", help="keep triage_soak")
    return parser.parse_args()


def states(database_url: str, run: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT triage_status, count(*) FROM triage_message "
            "WHERE message_id LIKE %s GROUP BY triage_status",
            (f"<bench-{run}-%",),
        ).fetchall()
    return {status: int(n) for status, n in rows}


def audit(database_url: str, run: str) -> dict:
    """Exactly-once checks, all in SQL against what was sent."""
    import psycopg

    pattern = (f"<bench-{run}-%",)
    with psycopg.connect(database_url) as conn:
        stored, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT message_id) FROM triage_message "
            "WHERE message_id LIKE %s",
            pattern,
        ).fetchone()
        attempts = dict(
            conn.execute(
                "SELECT triage_attempts, count(*) FROM triage_message "
                "WHERE message_id LIKE %s GROUP BY 1 ORDER BY 1",
                pattern,
            ).fetchall()
        )
        steps_per_message = dict(
            conn.execute(
                "SELECT n, count(*) FROM (SELECT m.id, count(a.id) AS n "
                "FROM triage_message m LEFT JOIN triage_analysis a "
                "ON a.message_id = m.id WHERE m.message_id LIKE %s "
                "AND m.triage_status = 'triaged' GROUP BY m.id) t GROUP BY n",
                pattern,
            ).fetchall()
        )
        drafts_per_message = conn.execute(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n "
            "FROM triage_replydraft d JOIN triage_message m "
            "ON d.in_reply_to_message_id = m.id WHERE m.message_id LIKE %s "
            "GROUP BY m.id) t",
            pattern,
        ).fetchone()[0]
    return {
        "stored": int(stored),
        "stored_distinct": int(distinct),
        "attempts_histogram": {str(k): int(v) for k, v in attempts.items()},
        "analysis_rows_per_triaged_message": {
            str(k): int(v) for k, v in steps_per_message.items()
        },
        "max_drafts_per_message": int(drafts_per_message),
    }


def main() -> int:
    args = parse_args()
    run = secrets.token_hex(4)
    secret = secrets.token_hex(16)
    prefix = f"triage-soak-{run}:"
    database_url = with_database(args.database_url, SOAK_DB)
    scratch = Path(tempfile.mkdtemp(prefix="triage-soak-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": args.broker_url,
        "CELERY_KEY_PREFIX": prefix,
        "TRIAGE_WEBHOOK_SECRET": secret,
        "TRIAGE_MEDIA_ROOT": str(scratch / "media"),
        "TRIAGE_MODELS": "tiny",
        "TRIAGE_TORCH_THREADS": "1",
        "TRIAGE_SWEEP_AFTER": "30",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
    }
    print(f"soak database {SOAK_DB}, broker prefix {prefix}, {args.count} emails")
    recreate_database(args.database_url, SOAK_DB)
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput", "-v", "0"], ["build_tiny_models"]):
        subprocess.run([*manage, *command], cwd=REPO, env=env, check=True)  # noqa: S603
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed args
        [
            sys.executable,
            "-m",
            "gunicorn",
            "triage.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            "2",
            "--threads",
            "4",
            "--error-logfile",
            str(scratch / "gunicorn.log"),
        ],
        cwd=REPO,
        env=env,
    )
    worker_log = (scratch / "worker.log").open("w")
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed args
        worker_command(f"soak-{run}", "--loglevel=WARNING"),
        cwd=REPO,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_serving(port, server)
        requests = make_requests(run, 0, args.count, secret)
        started = time.monotonic()
        result = run_load(port, requests, args.concurrency)
        posted_s = time.monotonic() - started
        print(
            f"posted {len(result['latencies'])} in {posted_s:.1f}s; "
            "draining (the sweeper runs every 10 s)"
        )
        deadline = started + args.drain_timeout
        last_sweep = 0.0
        while time.monotonic() < deadline:
            now = states(database_url, run)
            done = sum(now.get(s, 0) for s in FINAL)
            print(f"\r  {done}/{args.count} final {now}", end="", flush=True)
            if done >= args.count:
                break
            if time.monotonic() - last_sweep > 10:
                subprocess.run(  # noqa: S603 - our own manage.py
                    [
                        *manage,
                        "shell",
                        "-v",
                        "0",
                        "-c",
                        "from triage.services.sweeper import triage_sweep; "
                        "triage_sweep()",
                    ],
                    cwd=REPO,
                    env=env,
                    check=True,
                )
                last_sweep = time.monotonic()
            time.sleep(2)
        print()
        drained_s = time.monotonic() - started
    finally:
        worker.terminate()
        server.terminate()
        worker.wait(timeout=60)
        server.wait(timeout=30)
        worker_log.close()

    final = states(database_url, run)
    figures = {
        "count": args.count,
        "concurrency": args.concurrency,
        "post_req_per_s": round(len(result["latencies"]) / result["wall"], 1),
        "post_p50_ms": round(percentile(result["latencies"], 50) * 1000, 1),
        "post_p99_ms": round(percentile(result["latencies"], 99) * 1000, 1),
        "http_statuses": {str(k): v for k, v in sorted(result["statuses"].items())},
        "drain_s": round(drained_s, 1),
        "triaged_per_s": round(final.get("triaged", 0) / drained_s, 2),
        "states": final,
        **audit(database_url, run),
    }
    figures["every_message_final"] = sum(final.get(s, 0) for s in FINAL) == args.count
    figures["exactly_once"] = (
        figures["stored"] == args.count
        and figures["stored_distinct"] == args.count
        and figures["max_drafts_per_message"] <= 1
        and len(figures["analysis_rows_per_triaged_message"]) <= 1
    )
    purge_prefix(args.broker_url, prefix)
    if not args.keep:
        drop_database(args.database_url, SOAK_DB)
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(figures, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
    ok = figures["every_message_final"] and figures["exactly_once"]
    print("OK: nothing lost, nothing twice" if ok else "FAILED: see the figures")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
