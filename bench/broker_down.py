"""Benchmark: what one ingest costs while Redis (the Celery broker) is down.

    python bench/broker_down.py              # 30 ingests down, 30 with Redis up
    python bench/broker_down.py --count 100

What runs: a private database `triage_bench_broker` on the local PostgreSQL
(created, migrated, dropped at the end), and the web side's ingest service
(`email_ingest`, what every webhook calls) in this process. First with the broker
URL pointing at a free local port where nothing listens (a dead Redis: the
connection is refused), then against the real Redis under a private key prefix
(purged at the end), for comparison. Each ingest stores the mail and publishes its
triage task on commit; with the broker down the publish fails after
TRIAGE_PUBLISH_TIMEOUT (two attempts) and the row stays `received` for the
sweeper. Prints the per-ingest latency both ways, checks the rows' state in the
database, and writes the figures to bench/results/broker_down.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.ingest import (  # noqa: E402 - after the path fix above
    SAMPLE_TEXT,
    drop_database,
    free_port,
    percentile,
    purge_prefix,
    recreate_database,
    with_database,
)

RESULTS = REPO / "bench" / "results" / "broker_down.json"
BENCH_DB = "triage_bench_broker"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30, help="ingests per phase")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432"
        ),
        help="server to create the bench database on (its path is ignored)",
    )
    parser.add_argument(
        "--broker-url",
        default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/8"),
        help="the live Redis for the comparison phase",
    )
    return parser.parse_args()


def make_eml(run: str, i: int) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = f"Customer {i} <customer{i}@example.com>"
    msg["To"] = "support@example-shop.test"
    msg["Subject"] = f"Order {i}: wrong action figure"
    msg["Message-ID"] = f"<broker-{run}-{i}@example.com>"
    msg.set_content(f"{SAMPLE_TEXT}\n\nOrder number {i}.\n")
    return msg.as_bytes()


def use_broker(url: str) -> None:
    """Point this process's Celery app at `url`, dropping pooled connections."""
    from django.conf import settings

    from workers.celery import app

    # Celery reads CELERY_BROKER_URL from the environment before its settings.
    os.environ["CELERY_BROKER_URL"] = url
    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url
    app.conf.task_always_eager = False
    app._after_fork()  # the pool holds connections to the previous broker


def timed_ingests(run: str, start: int, count: int) -> tuple[list[float], list[int]]:
    from triage.services import email_ingest

    latencies, pks = [], []
    for i in range(start, start + count):
        raw = make_eml(run, i)
        began = time.perf_counter()
        result = email_ingest(raw, source="bench")
        latencies.append(time.perf_counter() - began)
        pks.append(result.message.pk)
    return latencies, pks


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p90_ms": round(percentile(latencies, 90) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


def main() -> int:
    args = parse_args()
    run = secrets.token_hex(4)
    prefix = f"triage-bench-{run}:"
    dead_port = free_port()  # bound and released: nothing listens there now
    dead_url = f"redis://127.0.0.1:{dead_port}/0"
    os.environ.update(
        {
            "DATABASE_URL": with_database(args.database_url, BENCH_DB),
            "DATABASE_CONN_MAX_AGE": "600",
            "CELERY_BROKER_URL": dead_url,
            "CELERY_KEY_PREFIX": prefix,
            "TRIAGE_MEDIA_ROOT": tempfile.mkdtemp(prefix="triage-bench-media-"),
            "DJANGO_SETTINGS_MODULE": "triage.settings",
            "LOG_LEVEL": "CRITICAL",  # each failed publish logs a traceback
            "HF_HUB_OFFLINE": "1",
        }
    )
    recreate_database(args.database_url, BENCH_DB)
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from triage.models import Message

        call_command("migrate", "--noinput", verbosity=0)
        timeout = settings.TRIAGE_PUBLISH_TIMEOUT

        use_broker(dead_url)
        timed_ingests(run, 0, 2)  # imports, connections, first-use caches
        down, down_pks = timed_ingests(run, 2, args.count)
        rows = Message.objects.filter(pk__in=down_pks)
        kept = rows.filter(
            triage_status=Message.TriageStatus.RECEIVED,
            triage_enqueued_at__isnull=True,
        ).count()

        use_broker(args.broker_url)
        timed_ingests(run, 10_000, 2)
        up, up_pks = timed_ingests(run, 10_002, args.count)
        published = (
            Message.objects.filter(pk__in=up_pks)
            .exclude(triage_enqueued_at__isnull=True)
            .count()
        )
        queued = purge_prefix(args.broker_url, prefix)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(args.database_url, BENCH_DB)

    figures = {
        "count": args.count,
        "publish_timeout_s": timeout,
        "broker_down": {
            **summary(down),
            "stored": len(down_pks),
            "left_received_for_the_sweeper": kept,
        },
        "broker_up": {
            **summary(up),
            "stored": len(up_pks),
            "published": published,
            "tasks_in_redis": queued,
        },
        "python": platform.python_version(),
        "cpus": len(os.sched_getaffinity(0)),
    }
    print(
        f"publish timeout {timeout}s; per ingest with the broker down: "
        f"mean {figures['broker_down']['mean_ms']} ms, "
        f"p90 {figures['broker_down']['p90_ms']} ms, "
        f"max {figures['broker_down']['max_ms']} ms "
        f"({kept}/{len(down_pks)} left `received` for the sweeper)"
    )
    print(
        f"per ingest with the broker up: mean {figures['broker_up']['mean_ms']} ms, "
        f"p90 {figures['broker_up']['p90_ms']} ms ({published} published)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")
    ok = kept == len(down_pks) and published == len(up_pks) == queued
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
