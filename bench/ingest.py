"""Benchmark: sustained signed raw-MIME webhook posts into PostgreSQL through gunicorn.

    python bench/ingest.py                      # 2000 posts, 8 connections
    python bench/ingest.py --count 5000 --workers 3 --threads 4 --concurrency 16
    python bench/ingest.py --hostile            # hostile requests: see hostile.py

What runs: a private database `triage_bench` on the local PostgreSQL (created,
migrated, dropped at the end unless --keep), gunicorn (gthread workers) serving the
real WSGI app on 127.0.0.1, and the load from a second process: threads with one
keep-alive `http.client` connection each, posting pre-signed `/webhooks/mime/`
requests (unique Message-IDs) for a fixed count. Triage tasks are published to
Redis under a private key prefix and nothing consumes them; they are counted and
purged at the end. Prints req/s and latency percentiles, then checks in the
database that every sent message is stored exactly once, and writes the figures
to bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# Benchmarks run on development settings (the settings default to production).
os.environ.setdefault("TRIAGE_ENV", "development")

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "ingest.json"
BENCH_DB = "triage_bench"
BODY = (REPO / "samples" / "01-bumblebee.eml").read_bytes()
SAMPLE_TEXT = (
    "Dear Amazon, last week I ordered an Optimus Prime action figure from your "
    "online store in Germany. Unfortunately, when I opened the package, I "
    "discovered to my horror that I had been sent an action figure of Megatron "
    "instead! To resolve the issue, I demand an exchange of Megatron for the "
    "Optimus Prime figure I ordered. Sincerely, Bumblebee."
)


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    """--database-url and --broker-url, the services every bench here runs on."""
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
    )


def worker_command(name: str, *extra: str) -> list[str]:
    """`celery worker` as production runs it: prefork, one child, one task at a
    time, on the gpu and default queues."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "--prefetch-multiplier=1",
        "-Q",
        "gpu,default",
        "-n",
        f"{name}@%h",
        *extra,
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="posts to time")
    parser.add_argument("--warmup", type=int, default=100, help="untimed posts first")
    parser.add_argument("--concurrency", type=int, default=8, help="connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    add_service_arguments(parser)
    parser.add_argument("--keep", action="store_true", help="keep triage_bench")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="py-spy the gunicorn workers into FILE (.svg flame graph, .txt stacks)",
    )
    return parser.parse_args()


# --- Setup --------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def recreate_database(server_url: str, name: str = BENCH_DB) -> None:
    import psycopg

    with psycopg.connect(
        with_database(server_url, "postgres"), autocommit=True
    ) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def drop_database(server_url: str, name: str = BENCH_DB) -> None:
    import psycopg

    with psycopg.connect(
        with_database(server_url, "postgres"), autocommit=True
    ) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(
    port: int, server: subprocess.Popen, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


def purge_prefix(broker_url: str, prefix: str) -> int:
    """Delete the bench's keys; returns how many tasks were waiting in `gpu`."""
    import redis

    client = redis.Redis.from_url(broker_url)
    queued = int(client.llen(f"{prefix}gpu"))
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
    return queued


# --- Load (second process) ---------------------------------------------------------


def make_requests(run: str, start: int, count: int, secret: str) -> list[bytes]:
    """Pre-built, pre-signed HTTP requests: the client measures the server only."""
    requests = []
    for i in range(start, start + count):
        msg = EmailMessage()
        msg["From"] = f"Customer {i} <customer{i}@example.com>"
        msg["To"] = "support@example-shop.test"
        msg["Subject"] = f"Order {i}: wrong action figure"
        msg["Date"] = "Mon, 03 Nov 2025 09:14:22 +0000"
        msg["Message-ID"] = f"<bench-{run}-{i}@example.com>"
        msg.set_content(f"{SAMPLE_TEXT}\n\nOrder number {i}.\n")
        body = msg.as_bytes()
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        head = (
            "POST /webhooks/mime/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: message/rfc822\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Triage-Signature: sha256={signature}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


def load(port: int, requests: list[bytes], concurrency: int, out) -> None:
    """Runs in its own process: `concurrency` keep-alive connections."""
    lock = threading.Lock()
    cursor = iter(range(len(requests)))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            started = time.perf_counter()
            try:
                conn.sock.sendall(requests[index])
                response = http.client.HTTPResponse(conn.sock)
                response.begin()
                response.read()
                status = response.status
                if response.will_close:
                    conn.close()
                    conn.connect()
            except OSError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn.connect()
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    cpu_started = time.process_time()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    out.send(
        {
            "latencies": latencies,
            "statuses": statuses,
            "errors": errors,
            "wall": wall,
            "cpu": time.process_time() - cpu_started,
        }
    )
    out.close()


def run_load(port: int, requests: list[bytes], concurrency: int) -> dict:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=load, args=(port, requests, concurrency, sender))
    process.start()
    sender.close()
    result = receiver.recv()
    process.join()
    return result


# --- CPU accounting (Linux /proc): who spends the machine's two cores -------------


def child_pids(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def backend_pids(server_url: str) -> list[int]:
    import psycopg

    with psycopg.connect(
        with_database(server_url, "postgres"), autocommit=True
    ) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (BENCH_DB,)
        ).fetchall()
    return [int(row[0]) for row in rows]


def proc_cpu(pids: list[int]) -> float:
    """User + system seconds of these processes so far (0 for vanished ones)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


# --- Verification -------------------------------------------------------------------


def stored_counts(database_url: str, run: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT message_id) FROM triage_message "
            "WHERE message_id LIKE %s",
            (f"<bench-{run}-%",),
        ).fetchone()
    return int(row[0]), int(row[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def main() -> int:
    args = parse_args()
    run = secrets.token_hex(4)
    secret = secrets.token_hex(16)
    prefix = f"triage-bench-{run}:"
    database_url = with_database(args.database_url, BENCH_DB)
    scratch = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    media = scratch / "media"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "600",
        "CELERY_BROKER_URL": args.broker_url,
        "CELERY_KEY_PREFIX": prefix,
        "TRIAGE_WEBHOOK_SECRET": secret,
        "TRIAGE_MEDIA_ROOT": str(media),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
    }
    print(f"bench database {BENCH_DB}, broker prefix {prefix}")
    recreate_database(args.database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env,
        check=True,
    )
    port = free_port()
    server_log = scratch / "gunicorn.log"
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
            str(args.workers),
            "--threads",
            str(args.threads),
            "--keep-alive",
            "30",
            "--error-logfile",
            str(server_log),
        ],
        cwd=REPO,
        env=env,
    )
    profiler = None
    try:
        wait_until_serving(port, server)
        warmup = make_requests(run, 0, args.warmup, secret)
        timed = make_requests(run, args.warmup, args.count, secret)
        run_load(port, warmup, args.concurrency)  # connections, imports, caches
        watched = {
            "gunicorn": child_pids(server.pid),
            "postgres": backend_pids(args.database_url),
        }
        cpu_before = {name: proc_cpu(pids) for name, pids in watched.items()}
        if args.profile:
            py_spy = shutil.which("py-spy") or str(
                Path(sys.executable).with_name("py-spy")
            )
            profiler = subprocess.Popen(  # noqa: S603 - py-spy on our own server
                [
                    py_spy,
                    "record",
                    "--subprocesses",
                    "--pid",
                    str(server.pid),
                    "--format",
                    "raw" if args.profile.endswith(".txt") else "flamegraph",
                    "--output",
                    args.profile,
                ]
            )
            time.sleep(1)
        result = run_load(port, timed, args.concurrency)
        cpu = {
            name: proc_cpu(pids) - cpu_before[name] for name, pids in watched.items()
        }
        cpu["client"] = result["cpu"]
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        server.terminate()
        server.wait(timeout=30)
        if server_log.exists():
            errors = server_log.read_text().splitlines()
            problems = [
                line for line in errors if "ERROR" in line or "Traceback" in line
            ]
            if problems:
                print("gunicorn reported:", *problems[-5:], sep="\n  ")
        shutil.rmtree(scratch, ignore_errors=True)

    latencies = result["latencies"]
    stored, distinct = stored_counts(database_url, run)
    queued = purge_prefix(args.broker_url, prefix)
    sent = args.warmup + args.count
    figures = {
        "count": args.count,
        "concurrency": args.concurrency,
        "gunicorn": f"{args.workers} gthread workers x {args.threads} threads",
        "req_per_s": round(len(latencies) / result["wall"], 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p90_ms": round(percentile(latencies, 90) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(result["statuses"].items())},
        "errors": len(result["errors"]),
        "sent": sent,
        "stored": stored,
        "stored_distinct": distinct,
        "tasks_published": queued,
        "exactly_once": stored == sent and distinct == sent,
        # CPU per timed request, by process group: what the cores were spent on.
        "cpu_ms_per_req": {
            name: round(seconds / args.count * 1000, 2) for name, seconds in cpu.items()
        },
        "load_average_at_end": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(json.dumps(figures, indent=2))
    if result["errors"]:
        print("first errors:", result["errors"][:5])
    print(
        f"{figures['req_per_s']} req/s, p50 {figures['p50_ms']} ms, "
        f"p99 {figures['p99_ms']} ms; stored {stored}/{sent} "
        f"({'exactly once' if figures['exactly_once'] else 'MISMATCH'}), "
        f"{queued} triage tasks published"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    if not args.keep:
        drop_database(args.database_url)
    ok = (
        figures["exactly_once"]
        and queued == sent  # one triage task per stored message
        and figures["statuses"] == {"200": args.count}
    )
    return 0 if ok else 1


if __name__ == "__main__":
    if "--hostile" in sys.argv[1:]:
        # What hostile requests cost the server: bench/hostile.py.
        sys.path.insert(0, str(REPO))
        from bench.hostile import main as hostile_main

        sys.exit(hostile_main(sys.argv[1:]))
    sys.exit(main())
