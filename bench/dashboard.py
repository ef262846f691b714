"""Benchmark: every dashboard page against N generated tickets on PostgreSQL.

    python bench/dashboard.py --tickets 10000            # generate, measure, drop
    python bench/dashboard.py --tickets 100000 --keep    # keep the data for a rerun
    python bench/dashboard.py --tickets 100000 --keep    # ...which then reuses it

Data: a private database (`triage_bench_dashboard` unless --db) on the PostgreSQL
of --server-url, migrated, then filled by INSERT ... SELECT over generate_series in
chunks of tickets (a progress bar per table): 1-4 mails per ticket (the second an
outbound reply), 8 analyses per inbound mail, a model draft per ticket, audit
events, created over 90 days. Bodies are sentences drawn from a fixed pool so
full-text search finds realistic hit rates ("refund" in about a fifth). After the
load, whatever backfill the code defines for derived columns runs (the same
function its data migration uses), then VACUUM ANALYZE, as autovacuum would.

Measurement: in-process, Django's test Client logged in as a superuser, each page
requested once to warm up and then --repeat times; the cache is cleared before
every request so a cached chart never hides its SQL (except "cached: overview",
a refresh within the overview's cache time). Prints the median ms and the
number of queries per page (CaptureQueriesContext), and with an earlier run of the
same --label at a smaller size in bench/results/dashboard.json, the growth ratio.
"""

# The SQL below is built from this file's constants only, never from input.
# ruff: noqa: S608
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "dashboard.json"
CHUNK = 5000  # tickets per INSERT ... SELECT
# Pages measured with the cache kept between requests (the others clear it first,
# so a cached chart never hides its SQL).
CACHED = "cached: "

SENTENCES = [
    "I ordered a pair of running shoes last week and they still have not arrived.",
    "The parcel was damaged when it arrived and the box was crushed.",
    "Could you please refund the amount to my credit card?",
    "I would like a refund for the broken kettle.",
    "You sent me the wrong item, I ordered the blue jacket not the red one.",
    "My order number is 4711 and the tracking page shows no update.",
    "I was charged twice for the same order, please check my invoice.",
    "How do I change the delivery address of my order?",
    "I cannot log in to my account since yesterday.",
    "Please cancel my subscription and confirm by email.",
    "The size does not fit, can I exchange it for a larger one?",
    "Thank you for the quick help last time, everything worked fine.",
    "This is the third time I am writing and nobody answers.",
    "The product stopped working after two days.",
    "Where is my money? I returned the package three weeks ago.",
    "The discount code from your newsletter was not applied.",
    "Can I pick up the order in a store instead of delivery?",
    "The invoice shows the wrong company name, please correct it.",
    "I love the new collection, do you ship to Switzerland?",
    "The courier left the package at the wrong door.",
    "Ich warte seit zwei Wochen auf meine Bestellung.",
    "Je voudrais un remboursement pour la commande abîmée.",
    "El paquete llegó roto y quiero una devolución.",
    "Vorrei cambiare la taglia delle scarpe.",
]
NAMES = [
    "Anna Schmidt",
    "Luca Rossi",
    "Marie Dubois",
    "John Smith",
    "Sofia García",
    "Jan de Vries",
    "Emma Johnson",
    "Noah Müller",
    "Olivia Brown",
    "Liam Wilson",
]
INTENTS = [
    "refund",
    "exchange",
    "wrong item",
    "damaged",
    "late delivery",
    "billing",
    "account",
    "other",
]
LANGUAGES = ["en", "en", "en", "en", "de", "fr", "es", "it", "nl"]
SENTIMENTS = ["NEGATIVE", "NEGATIVE", "NEUTRAL", "POSITIVE"]
STATUSES = ["new", "needs_review", "needs_review", "waiting", "closed", "closed"]
DRAFT_STATUSES = ["drafted", "drafted", "approved", "sent", "sent", "rejected"]
STEPS = [
    "language",
    "translation",
    "sentiment",
    "entities",
    "answer",
    "summary",
    "intent",
    "draft",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed requests/page")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) data")
    parser.add_argument("--label", default="current", help="name of this run")
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432"
        ),
    )
    parser.add_argument("--db", default="triage_bench_dashboard")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def sql_array(values: list[str]) -> str:
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"ARRAY[{quoted}]"


def pick(values: list[str], seed: str) -> str:
    """A pseudo-random element chosen by an integer SQL expression (repeatable)."""
    return f"({sql_array(values)})[1 + {rand(seed, len(values))}]"


def rand(seed: str, n: int | str) -> str:
    """0..n-1 from an integer SQL expression: a hash, so reruns give the same data."""
    return f"(mod(hashint4(({seed})::int)::bigint + 2147483648, {n}))::int"


def database_ready(server_url: str, name: str, tickets: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(with_database(server_url, name)) as conn:
            # Written last, so an interrupted load is never reused.
            row = conn.execute("SELECT tickets FROM bench_meta").fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0] == tickets)


def recreate_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(
        with_database(server_url, "postgres"), autocommit=True
    ) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(
        with_database(server_url, "postgres"), autocommit=True
    ) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def generate(tickets: int) -> None:
    """Fill the migrated database; ids are dense so chunks are id ranges."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from tqdm import tqdm

    User = get_user_model()
    agents = [User.objects.create_user(f"agent{i}", is_staff=True) for i in range(1, 6)]
    agent_ids = "ARRAY[" + ",".join(str(a.pk) for a in agents) + "]"
    body = (
        "(SELECT string_agg(s, ' ') FROM (SELECT "
        + pick(SENTENCES, "{seed} * 31 + k")
        + " AS s FROM generate_series(1, 2 + "
        + rand("{seed}", 5)
        + ") k) x)"
    )
    days = 90
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SELECT setseed(0.42)")
    steps = [
        ("ticket", _tickets_sql(agent_ids, days)),
        ("message", _messages_sql(body)),
        ("ticket", _sla_sql()),  # an UPDATE of the tickets, once mails exist
        ("analysis", _analyses_sql()),
        ("replydraft", _drafts_sql(agent_ids)),
        ("auditevent", _audit_sql()),
    ]
    with tqdm(total=len(steps) * tickets, unit="ticket", desc="generating") as bar:
        for name, sql in steps:
            bar.set_postfix_str(name)
            for low in range(1, tickets + 1, CHUNK):
                high = min(low + CHUNK - 1, tickets)
                with transaction.atomic(), connection.cursor() as cur:
                    cur.execute(sql, {"low": low, "high": high, "n": tickets})
                bar.update(high - low + 1)
            # Statistics before the next table joins this one: planned blind, the
            # drafts' per-ticket lookup of the newest mail scans every mail.
            with connection.cursor() as cur:
                cur.execute(f"ANALYZE triage_{name}")
    with connection.cursor() as cur:
        for table in ("triage_ticket", "triage_message", "triage_replydraft"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )


def _tickets_sql(agent_ids: str, days: int) -> str:
    return f"""
    INSERT INTO triage_ticket (id, subject, customer_email, customer_name, status,
        priority, intent, language, sentiment_label, sentiment_score,
        agent_sentiment, agent_intent, due_at, assigned_to_id, created_at,
        updated_at, labels_corrected_at, labels_corrected_by_id, not_analysed)
    SELECT g,
        {pick(SENTENCES, "g * 7")},
        'customer' || {rand("g", "%(n)s / 2 + 50")} || '@example.org',
        {pick(NAMES, "g * 3")},
        {pick(STATUSES, "g * 5")},
        1 + {rand("g * 11", 4)},
        {pick(INTENTS, "g * 13")},
        {pick(LANGUAGES, "g * 17")},
        {pick(SENTIMENTS, "g * 19")},
        0.5 + {rand("g * 23", 500)} / 1000.0,
        CASE WHEN mod(g, 50) = 0 THEN 'POSITIVE' ELSE '' END,
        CASE WHEN mod(g, 70) = 0 THEN 'billing' ELSE '' END,
        NULL,
        CASE WHEN mod(g, 3) = 0 THEN NULL
             ELSE ({agent_ids})[1 + {rand("g * 29", 5)}] END,
        now() - make_interval(secs => {rand("g * 37", days * 86400)}),
        now(),
        NULL, NULL, ''
    FROM generate_series(%(low)s, %(high)s) g
    """


def _sla_sql() -> str:
    """SLA clocks as the services keep them: a first-response target by priority
    (calendar hours here), met by the outbound reply when there is one; then the
    resolution target."""
    return """
    UPDATE triage_ticket t SET
        first_response_due_at = t.created_at + make_interval(
            hours => (ARRAY[1, 4, 8, 24])[t.priority]),
        first_response_at = r.sent,
        due_at = CASE WHEN r.sent IS NULL
            THEN t.created_at + make_interval(hours => (ARRAY[1, 4, 8, 24])[t.priority])
            ELSE t.created_at + make_interval(days => 3) END
    FROM triage_ticket t2
    LEFT JOIN LATERAL (SELECT min(received_at) AS sent FROM triage_message
                       WHERE ticket_id = t2.id AND direction = 'outbound') r ON true
    WHERE t.id = t2.id AND t.id BETWEEN %(low)s AND %(high)s
    """


def _messages_sql(body: str) -> str:
    text = body.format(seed="t.id * 4 + k")
    r = rand("t.id * 41", 20)
    return f"""
    INSERT INTO triage_message (ticket_id, direction, source, provider_message_id,
        message_id, message_id_synthetic, in_reply_to, "references", from_address,
        from_name, "to", cc, subject, sent_at, text_body, html_body, raw, raw_size,
        raw_sha256, raw_truncated, is_malformed, parse_defects, received_at,
        triage_status, triage_attempts, triage_started_at, triage_enqueued_at,
        triage_error, triaged_at)
    SELECT t.id,
        CASE WHEN k = 2 THEN 'outbound' ELSE 'inbound' END,
        'mime', '',
        '<' || t.id || '.' || k || '@mail.example.org>', false, '', '',
        CASE WHEN k = 2 THEN 'support@example-shop.test' ELSE t.customer_email END,
        CASE WHEN k = 2 THEN 'Customer Service' ELSE t.customer_name END,
        'support@example-shop.test', '', t.subject,
        t.created_at + make_interval(hours => (k - 1) * 5),
        b.text, '<p>' || b.text || '</p>',
        convert_to(repeat('Received: from mx.example.org by mail.example-shop.test; '
            || t.created_at || E'\\r\\n', 12) || E'\\r\\n' || b.text || E'\\r\\n'
            || '<html><body><p>' || b.text || '</p></body></html>', 'UTF8'),
        1800, md5(t.id::text || k) || md5(k::text || t.id), false, false, '[]',
        t.created_at + make_interval(hours => (k - 1) * 5),
        -- Sent replies are stored 'triaged' (reply_common.outbound_message_record):
        -- they once were 'received' here, 60k rows no deployment has.
        'triaged', 1, NULL, NULL, '',
        CASE WHEN k = 2 THEN NULL
             ELSE t.created_at + make_interval(hours => (k - 1) * 5, mins => 1) END
    FROM triage_ticket t
    CROSS JOIN LATERAL generate_series(1, CASE
        WHEN {r} < 8 THEN 1 WHEN {r} < 15 THEN 2 WHEN {r} < 19 THEN 3 ELSE 4 END) k
    CROSS JOIN LATERAL (SELECT {text} AS text) b
    WHERE t.id BETWEEN %(low)s AND %(high)s
    ORDER BY t.id, k
    """


def _analyses_sql() -> str:
    results = {
        "language": "jsonb_build_object('language', t.language, 'confidence', 0.97)",
        "translation": "jsonb_build_object('skipped', true)",
        "sentiment": "jsonb_build_object('label', t.sentiment_label, "
        "'score', t.sentiment_score)",
        "entities": "jsonb_build_array(jsonb_build_object('label', 'ORDER', "
        "'start', 0, 'end', 5, 'text', left(m.text_body, 5)))",
        "answer": "jsonb_build_object('answer', left(m.text_body, 80), "
        "'score', 0.61, 'start', 0, 'end', least(80, length(m.text_body)))",
        "summary": "jsonb_build_object('summary', left(m.text_body, 120))",
        "intent": "jsonb_build_object('label', t.intent, 'priority', 'normal', "
        "'scores', jsonb_build_object(t.intent, 0.8, 'other', 0.2))",
        "draft": "jsonb_build_object('text', 'Dear customer, thank you for "
        "your message. ' || left(m.text_body, 200))",
    }
    cases = " ".join(f"WHEN '{step}' THEN {sql}" for step, sql in results.items())
    return f"""
    INSERT INTO triage_analysis (message_id, step, result, computed_on, error, model,
        model_revision, is_tiny, duration_ms, created_at, not_analysed)
    SELECT m.id, s.step, CASE s.step {cases} END, 'original', '',
        'example/' || s.step || '-model', 'abc123', false, 12.5, m.triaged_at, ''
    FROM triage_message m
    JOIN triage_ticket t ON t.id = m.ticket_id
    CROSS JOIN unnest({sql_array(STEPS)}) AS s(step)
    WHERE m.ticket_id BETWEEN %(low)s AND %(high)s AND m.direction = 'inbound'
    """


def _drafts_sql(agent_ids: str) -> str:
    status = pick(DRAFT_STATUSES, "t.id * 43")
    return f"""
    INSERT INTO triage_replydraft (ticket_id, in_reply_to_message_id, text,
        text_customer_language, customer_language, status, created_by, author_id,
        approved_by_id, approved_at, rejected_reason, send_attempts, last_error,
        sent_at, sent_message_id, idempotency_key, created_at, updated_at, cc,
        customer_language_model, customer_language_via, arrived_at)
    SELECT t.id, m.id, 'Dear customer, thank you for your message.', '', '', d.status,
        'model', NULL,
        CASE WHEN d.status IN ('approved', 'sent')
             THEN ({agent_ids})[1 + {rand("t.id * 47", 5)}] END,
        CASE WHEN d.status IN ('approved', 'sent')
             THEN m.received_at + make_interval(mins => 10 + {rand("t.id", 3000)})
        END,
        CASE WHEN d.status = 'rejected' THEN 'Too vague' ELSE '' END, 0, '',
        NULL, NULL, gen_random_uuid(), m.triaged_at, m.triaged_at, '', '', '',
        m.received_at
    FROM triage_ticket t
    JOIN LATERAL (SELECT id, received_at, triaged_at FROM triage_message
                  WHERE ticket_id = t.id AND direction = 'inbound'
                  ORDER BY received_at DESC LIMIT 1) m ON true
    CROSS JOIN LATERAL (SELECT {status} AS status) d
    WHERE t.id BETWEEN %(low)s AND %(high)s
    """


def _audit_sql() -> str:
    return """
    INSERT INTO triage_auditevent (ticket_id, actor_id, action, detail, created_at)
    SELECT t.id, NULL, a.action, a.detail, t.created_at + a.after
    FROM triage_ticket t
    CROSS JOIN LATERAL (VALUES
        ('ticket_created', '{}'::jsonb, interval '0'),
        ('message_received', '{}'::jsonb, interval '1 second'),
        ('message_triaged', '{"failed_steps": []}'::jsonb, interval '1 minute'),
        ('ticket_updated', '{"status": "waiting"}'::jsonb, interval '2 hours')
    ) AS a(action, detail, after)
    WHERE t.id BETWEEN %(low)s AND %(high)s
    """


def backfill() -> str:
    """Run the code's own backfill of derived columns, when it has one."""
    import importlib

    try:
        module = importlib.import_module("triage.services.denorm")
    except ImportError:
        return "none"
    started = time.perf_counter()
    module.tickets_backfill()
    return f"{time.perf_counter() - started:.1f} s"


def pages(tickets: int) -> list[tuple[str, str]]:
    from triage.models import Message, Ticket

    busy = (
        Ticket.objects.order_by("-pk")
        .filter(messages__direction="inbound")
        .values_list("pk", flat=True)
        .first()
    )
    ticket = (
        Message.objects.filter(ticket_id__lte=busy)
        .values("ticket_id")
        .order_by("-ticket_id")
        .first()
    )
    tid = ticket["ticket_id"] if ticket else busy
    customer = Ticket.objects.filter(pk=tid).values_list("customer_email", flat=True)[0]
    message_id = Message.objects.filter(ticket_id=tid).values_list(
        "message_id", flat=True
    )[0]
    base = "/admin/triage/ticket/"
    deep = max(1, min(150, tickets // 50))  # page 150 from 7,500 tickets on
    return [
        ("ticket list", base),
        ("list: status", f"{base}?status__exact=needs_review"),
        ("list: sentiment", f"{base}?sentiment=NEGATIVE"),
        ("list: intent", f"{base}?intent=refund"),
        ("list: language", f"{base}?language=de"),
        ("list: priority", f"{base}?priority__exact=1"),
        ("list: assigned to me", f"{base}?assigned=me"),
        ("list: unassigned", f"{base}?assigned=nobody"),
        (
            "list: 3 filters",
            f"{base}?status__exact=needs_review&sentiment=NEGATIVE&priority__exact=2",
        ),
        ("list: newest first", f"{base}?o=-{newest_column()}"),
        ("list: deep page", f"{base}?p={deep}"),
        ("search: refund", f"{base}?q=refund"),
        ("search: two words", f"{base}?q=wrong+item"),
        ("search: address", f"{base}?q={customer}"),
        ("ticket page", f"{base}{tid}/change/"),
        ("overview", "/admin/triage/overview/"),
        # What a team lead's refresh costs within TRIAGE_OVERVIEW_CACHE_SECONDS.
        (CACHED + "overview", "/admin/triage/overview/"),
        ("draft list", "/admin/triage/replydraft/"),
        ("message list", "/admin/triage/message/"),
        ("message search: Message-ID", f"/admin/triage/message/?q={message_id}"),
        ("analysis list", "/admin/triage/analysis/"),
        ("admin index", "/admin/"),
    ]


def newest_column() -> int:
    """The admin's sort parameter counts list columns from 1: the "age" column
    (created_at) moves when a column is added before it."""
    from triage.admin import TicketAdmin

    return list(TicketAdmin.list_display).index("age") + 1


def measure(repeat: int, tickets: int) -> dict[str, dict[str, float | int]]:
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    User = get_user_model()
    user, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    out: dict[str, dict[str, float | int]] = {}
    for name, url in pages(tickets):
        times, cpu, queries = [], [], 0
        for i in range(repeat + 1):
            if not name.startswith(CACHED):
                cache.clear()
            with CaptureQueriesContext(connection) as ctx:
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get(url)
                elapsed = (time.perf_counter() - started) * 1000
                cpu_ms = (time.process_time() - cpu_started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{name}: {url} answered {response.status_code}")
            if i:  # the first request warms caches (templates, plans)
                times.append(elapsed)
                cpu.append(cpu_ms)
                queries = len(ctx.captured_queries)
        sql_ms, slowest = explain(ctx.captured_queries)
        out[name] = {
            "ms": round(statistics.median(times), 1),
            # PostgreSQL's own planning + execution time of the page's queries
            # (EXPLAIN ANALYZE of each, once more): less exposed to a busy CPU.
            "sql_ms": round(sql_ms, 1),
            "slowest_sql": slowest,
            "min_ms": round(min(times), 1),
            # Python's share (Django, templates); the rest is PostgreSQL and waiting.
            "cpu_ms": round(statistics.median(cpu), 1),
            "queries": queries,
            "url": url,
        }
        print(
            f"  {name:<28} {out[name]['ms']:>9.1f} ms {out[name]['cpu_ms']:>8.1f} "
            f"ms CPU {sql_ms:>8.1f} ms SQL {queries:>4} queries"
        )
    return out


def explain(queries: list[dict]) -> tuple[float, str]:
    """Sum of EXPLAIN ANALYZE times of the SELECTs, and the slowest one's text."""
    from django.db import connection

    total, worst, worst_sql = 0.0, -1.0, ""
    with connection.cursor() as cur:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            plan = cur.fetchone()[0]
            plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
            ms = plan["Planning Time"] + plan["Execution Time"]
            total += ms
            if ms > worst:
                worst, worst_sql = ms, f"{ms:.1f} ms: {sql[:300]}"
    return total, worst_sql


def table_sizes() -> dict[str, int]:
    from django.db import connection

    sizes = {}
    with connection.cursor() as cur:
        for table in (
            "triage_ticket",
            "triage_message",
            "triage_analysis",
            "triage_replydraft",
            "triage_auditevent",
        ):
            cur.execute(f"SELECT count(*) FROM {table}")
            sizes[table] = cur.fetchone()[0]
        cur.execute("SELECT pg_database_size(current_database())")
        sizes["database_bytes"] = cur.fetchone()[0]
    return sizes


def print_table(run: dict, previous: dict | None) -> None:
    growth = " growth |" if previous else ""
    header = (
        f"| page | ms (median) | ms (min) | SQL ms | web CPU ms | queries |{growth}"
    )
    print()
    print(f"{run['label']} at {run['tickets']:,} tickets")
    print(header)
    print("|---|---|---|---|---|---|" + ("---|" if previous else ""))
    for name, page in run["pages"].items():
        line = (
            f"| {name} | {page['ms']:.1f} | {page['min_ms']:.1f} "
            f"| {page.get('sql_ms', 0):.1f} | {page.get('cpu_ms', 0):.1f} "
            f"| {page['queries']} |"
        )
        if previous:
            before = previous["pages"].get(name)
            if before:
                ratio = page["ms"] / before["ms"] if before["ms"] else float("nan")
                line += f" {ratio:.2f}x (min {page['min_ms'] / before['min_ms']:.2f}x)"
                line += f" vs {previous['tickets']:,} |"
            else:
                line += " |"
        print(line)


def main() -> int:
    args = parse_args()
    database_url = with_database(args.server_url, args.db)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(REPO))
    reuse = args.keep and database_ready(args.server_url, args.db, args.tickets)
    if not reuse:
        recreate_database(args.server_url, args.db)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    started = time.perf_counter()
    call_command("migrate", "--noinput", verbosity=0)
    filled = "reused"
    if not reuse:
        generate(args.tickets)
        filled = f"{time.perf_counter() - started:.1f} s"
    if not reuse:
        print(f"database {args.db}: data {filled}; backfill: {backfill()}")
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
            cur.execute("CREATE TABLE bench_meta (tickets integer)")
            cur.execute("INSERT INTO bench_meta VALUES (%s)", [args.tickets])
    else:
        print(f"database {args.db}: data reused")
    sizes = table_sizes()
    print(
        ", ".join(f"{k.removeprefix('triage_')} {v:,}" for k, v in sizes.items()),
        f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)",
    )
    load_before = os.getloadavg()[0]
    results = measure(args.repeat, args.tickets)
    run = {
        "label": args.label,
        "tickets": args.tickets,
        "repeat": args.repeat,
        "sizes": sizes,
        "generate": filled,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "pages": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(args.out.read_text()) if args.out.exists() else {}
    runs = stored.setdefault("runs", {})
    runs[f"{args.label}:{args.tickets}"] = run
    smaller = [
        r
        for r in runs.values()
        if r["label"] == args.label and r["tickets"] < args.tickets
    ]
    previous = max(smaller, key=lambda r: r["tickets"]) if smaller else None
    args.out.write_text(json.dumps(stored, indent=2, default=str))
    print_table(run, previous)
    connection.close()
    if not args.keep:
        drop_database(args.server_url, args.db)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
