"""Benchmark: what a hostile request costs the server, through a real gunicorn.

    python bench/ingest.py --hostile            # or: python bench/hostile.py
    python bench/hostile.py --cases mailgun-multipart --out before.json

Each case starts a fresh gunicorn (one sync worker, the real WSGI app, a private
database), warms the worker up with a small unsigned post, then sends one hostile
request and reads from /proc the worker's CPU seconds and peak resident memory
(VmHWM) spent on it, with the client's wall time to the answer:

- mailgun-multipart: unsigned 40 MiB multipart/form-data of ~800k tiny parts to
  /webhooks/mailgun/ (expect 401);
- mailgun-urlencoded: unsigned 40 MiB urlencoded form of ~10M tiny fields (401);
- mime-many-parts: a signed 10 MiB message of 100k MIME parts to /webhooks/mime/
  (stored, 200), then the same request again as a provider retry would (200,
  duplicate): what the mail costs to store and what its retry costs.

Figures go to stdout and bench/results/hostile.json (git-ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
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
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.ingest import (  # noqa: E402 - path set just above
    add_service_arguments,
    drop_database,
    free_port,
    recreate_database,
    wait_until_serving,
    with_database,
)

RESULTS = REPO / "bench" / "results" / "hostile.json"
BENCH_DB = os.environ.get("BENCH_HOSTILE_DB", "triage_bench_hostile")
MIB = 2**20
CASES = ("mailgun-multipart", "mailgun-urlencoded", "mime-many-parts")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hostile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--size-mib", type=int, default=40, help="unsigned bodies")
    add_service_arguments(parser)
    parser.add_argument("--out", default=str(RESULTS))
    return parser.parse_args(argv)


# --- Hostile bodies ----------------------------------------------------------------


def multipart_flood(size: int) -> tuple[str, bytes]:
    boundary = "hostile" + secrets.token_hex(4)
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n'
    ).encode()
    count = (size - 64) // len(part)
    body = part * count + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def urlencoded_flood(size: int) -> tuple[str, bytes]:
    return "application/x-www-form-urlencoded", b"a=x&" * (size // 4)


def many_parts_mail(parts: int = 100_000) -> bytes:
    boundary = "b" + secrets.token_hex(6)
    head = (
        "From: Flood <flood@example.com>\r\nTo: support@example-shop.test\r\n"
        f"Subject: many parts\r\nMessage-ID: <flood-{secrets.token_hex(6)}@example.com>"
        f"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
        f'boundary="{boundary}"\r\n\r\n'
    ).encode()
    part = (
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n" + "x" * 60 + "\r\n"
    ).encode()
    return head + part * parts + f"--{boundary}--\r\n".encode()


# --- Measuring ---------------------------------------------------------------------


def worker_pid(master: int) -> int:
    path = Path(f"/proc/{master}/task/{master}/children")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = path.read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise SystemExit("no gunicorn worker")


def proc_status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(
    port: int, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    return response.status, elapsed


def measure(port: int, pid: int, path: str, body: bytes, headers: dict) -> dict:
    rss_before = proc_status_kib(pid, "VmRSS")
    hwm_before = proc_status_kib(pid, "VmHWM")
    cpu_before = proc_cpu_s(pid)
    status, wall = post(port, path, body, headers)
    return {
        "status": status,
        "body_bytes": len(body),
        "wall_ms": round(wall * 1000, 1),
        "worker_cpu_ms": round((proc_cpu_s(pid) - cpu_before) * 1000, 1),
        # Peak resident memory during the request, above what the warm worker held.
        "peak_extra_mib": round(
            (max(proc_status_kib(pid, "VmHWM"), hwm_before) - rss_before) / 1024, 1
        ),
    }


def run_case(case: str, args: argparse.Namespace, env: dict, scratch: Path) -> dict:
    port = free_port()
    log = scratch / f"{case}.log"
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed args
        [
            sys.executable,
            "-m",
            "gunicorn",
            "triage.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "600",
            "--error-logfile",
            str(log),
        ],
        cwd=REPO,
        env=env,
    )
    try:
        wait_until_serving(port, server)
        pid = worker_pid(server.pid)
        # Warm-up: imports, URL resolver, a database connection.
        post(port, "/webhooks/mailgun/", b"a=b", {"Content-Type": "text/plain"})
        secret = env["TRIAGE_WEBHOOK_SECRET"]
        if case == "mime-many-parts":
            body = many_parts_mail()
            signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "message/rfc822",
                "X-Triage-Signature": f"sha256={signature}",
            }
            first = measure(port, pid, "/webhooks/mime/", body, headers)
            retry = measure(port, pid, "/webhooks/mime/", body, headers)
            return {"first": first, "retry": retry}
        size = args.size_mib * MIB
        flood = multipart_flood if case == "mailgun-multipart" else urlencoded_flood
        content_type, body = flood(size)
        return measure(
            port, pid, "/webhooks/mailgun/", body, {"Content-Type": content_type}
        )
    finally:
        server.terminate()
        server.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="triage-hostile-"))
    env = {
        **os.environ,
        "DATABASE_URL": with_database(args.database_url, BENCH_DB),
        "CELERY_BROKER_URL": args.broker_url,
        "CELERY_KEY_PREFIX": f"triage-hostile-{secrets.token_hex(4)}:",
        "TRIAGE_WEBHOOK_SECRET": secrets.token_hex(16),
        "MAILGUN_WEBHOOK_SIGNING_KEY": secrets.token_hex(16),
        "TRIAGE_MEDIA_ROOT": str(scratch / "media"),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "ERROR",
        "HF_HUB_OFFLINE": "1",
    }
    recreate_database(args.database_url, BENCH_DB)
    figures: dict[str, object] = {}
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=REPO,
            env=env,
            check=True,
        )
        for case in args.cases:
            figures[case] = run_case(case, args, env, scratch)
            print(case, json.dumps(figures[case]), flush=True)
    finally:
        drop_database(args.database_url, BENCH_DB)
        shutil.rmtree(scratch, ignore_errors=True)
    figures["load_average_at_end"] = os.getloadavg()[0]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
