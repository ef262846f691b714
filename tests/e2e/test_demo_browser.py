"""`make demo` end to end, on the demo's own settings: an approved reply is sent.

The demo's commands run as `make demo` runs them (TRIAGE_ENV=development, no
DATABASE_URL or broker: SQLite and in-process tasks, the local outbox), in a
private var folder, with the tiny models so it takes seconds; runserver serves
it and headless Chromium approves a draft. The reply must reach the outbox
folder, appear in the ticket's conversation and on the Outbox page.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
from email import message_from_string
from email.policy import default
from pathlib import Path

import pytest

from tests.conftest import REPO, TINY_DIR
from tests.e2e.processes import free_port
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e]


def demo_env(var: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "EMAIL_", "TRIAGE_", "CELERY_"))
        and k != "DATABASE_URL"
    }
    return {
        **env,
        "TRIAGE_ENV": "development",  # what `make demo` exports
        "TRIAGE_VAR_DIR": str(var),
        "TRIAGE_MODELS": "tiny",
        "TRIAGE_TINY_DIR": str(TINY_DIR),
        "HF_HUB_OFFLINE": "1",
    }


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.fixture
def demo_site(tmp_path, tiny_models):
    var = tmp_path / "var"
    env = demo_env(var)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    manage(env, "migrate", "--noinput")
    output = manage(env, "demo", "--url", f"{url}/")
    password = re.search(r"Password:\s+(\S+)", output).group(1)
    log = (tmp_path / "runserver.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def listening() -> bool:
        assert server.poll() is None, (tmp_path / "runserver.log").read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    wait_until(listening, timeout=60, what="runserver listening")
    yield {"url": url, "password": password, "output": output, "var": var}
    server.terminate()
    server.wait(timeout=20)


def test_demo_approved_reply_reaches_the_outbox_and_the_thread(chromium, demo_site):
    url, var = demo_site["url"], demo_site["var"]
    outbox = var / "outbox"
    # The demo says where replies go.
    assert f"{url}/admin/triage/outbox/" in demo_site["output"]
    assert str(outbox) in demo_site["output"]
    # Before any approval the outbox holds only sample_data's sent reply (to Jean).
    before = set(outbox.iterdir())
    [sample] = before
    assert (
        "jean.dupont@example.fr"
        in message_from_string(sample.read_text(), policy=default)["To"]
    )

    with sqlite3.connect(var / "db.sqlite3") as db:
        row = db.execute(
            "SELECT d.id, d.ticket_id, t.customer_email FROM triage_replydraft d "
            "JOIN triage_ticket t ON t.id = d.ticket_id "
            "WHERE d.status = 'drafted' AND trim(d.text) != '' ORDER BY d.id LIMIT 1"
        ).fetchone()
    assert row, "the demo's triage wrote no draft to approve"
    draft_id, ticket_id, customer = row

    page = chromium.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", demo_site["password"])
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/(triage/ticket/)?$"))
    page.goto(f"{url}/admin/triage/ticket/{ticket_id}/change/")
    assert page.locator(".tr-out").count() == 0
    page.locator(f"#draft-{draft_id}").get_by_role(
        "button", name="Approve and send"
    ).click()
    # Eager tasks: the send happened within the approval's request.
    page.wait_for_selector(".tr-out", timeout=30_000)
    page.wait_for_load_state()
    thread = page.locator(".tr-out").first.inner_text()
    assert f"[#{ticket_id}]" in thread
    assert "Reply sent" in page.locator("#activity").inner_text()

    with sqlite3.connect(var / "db.sqlite3") as db:
        status, sent_id = db.execute(
            "SELECT status, sent_message_id FROM triage_replydraft WHERE id = ?",
            (draft_id,),
        ).fetchone()
        message_id = db.execute(
            "SELECT message_id FROM triage_message WHERE id = ?", (sent_id,)
        ).fetchone()[0]
    assert status == "sent"
    [written] = list(set(outbox.iterdir()) - before)
    email = message_from_string(written.read_text(), policy=default)
    assert email["Message-ID"] == message_id
    assert customer in email["To"]
    # Decoded: a customer's non-ASCII subject is an encoded word in the file.
    assert email["Subject"].strip().startswith(f"Re: [#{ticket_id}]")

    page.get_by_role("link", name="Tickets").first.click()
    page.get_by_role("link", name="Outbox").click()
    page.wait_for_url(re.compile(r".*/admin/triage/outbox/$"))
    rows = page.locator("#outbox-table tbody tr")
    assert rows.count() == 2  # this approval's reply and sample_data's
    [row] = [r for r in rows.all() if f"#{ticket_id}" in r.inner_text()]
    assert message_id in row.inner_text()
    assert str(outbox) in page.locator("#outbox-folder").inner_text()
    page.context.close()
