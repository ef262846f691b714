"""IMAP polling against a real Dovecot (Debian's dovecot-imapd), never a mock.

The fixture writes a minimal config into a temp dir: one passwd-file user, a
self-signed certificate made with openssl, IMAPS on a free localhost port. Mail is
delivered by IMAP APPEND, as a mail server would leave it in the mailbox.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ci import need
from tests.conftest import REPO
from tests.factories import make_eml
from tests.triage.conftest import Queue
from triage.models import Message
from triage.services.imap import ImapError, ImapSettings, imap_poll

USER = "support@example-shop.test"
PASSWORD = "app-password-for-tests"


@dataclass
class Dovecot:
    port: int
    cafile: str
    log: Path
    published: Queue | None = None

    def settings(self, **overrides) -> ImapSettings:
        values = {
            "host": "127.0.0.1",
            "port": self.port,
            "user": USER,
            "password": PASSWORD,
            "cafile": self.cafile,
            "timeout": 10.0,
        }
        return ImapSettings(**{**values, **overrides})

    def connect(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=self.cafile)
        conn = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context)
        conn.login(USER, PASSWORD)
        return conn

    def deliver(self, *messages: bytes, seen: bool = False) -> None:
        with self.connect() as conn:
            for raw in messages:
                flags = r"(\Seen)" if seen else None
                status, _ = conn.append("INBOX", flags, None, raw)
                assert status == "OK"

    def unseen(self) -> int:
        with self.connect() as conn:
            conn.select("INBOX")
            _, data = conn.uid("SEARCH", "UNSEEN")
            return len(data[0].split())

    def clear(self) -> None:
        with self.connect() as conn:
            _, data = conn.select("INBOX")
            if int(data[0]):
                conn.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                conn.expunge()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None and not log.exists():
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    text = log.read_text() if log.exists() else "(no log)"
    raise AssertionError(f"dovecot did not listen on {port}:\n{text}")


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    need(binary, "dovecot is absent (`make dovecot` installs dovecot-imapd)")
    assert binary is not None
    base = Path(tempfile.mkdtemp(prefix="triage-dovecot-"))
    # Dovecot never stores mail as root: as root, deliver as its own user.
    if os.geteuid() == 0:
        mail_user = pwd.getpwnam("dovecot")
        login_users = ""
    else:
        mail_user = pwd.getpwuid(os.getuid())
        login_users = (
            f"default_login_user = {mail_user.pw_name}\n"
            f"default_internal_user = {mail_user.pw_name}\n"
        )
    base.chmod(0o755)
    for sub in ("run", "state", "mail"):
        (base / sub).mkdir()
    os.chown(base / "mail", mail_user.pw_uid, mail_user.pw_gid)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(base / "key.pem"),
            "-out",
            str(base / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    (base / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = _free_port()
    log = base / "dovecot.log"
    (base / "dovecot.conf").write_text(
        f"""
base_dir = {base}/run
state_dir = {base}/state
log_path = {log}
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{base}/cert.pem
ssl_key = <{base}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:{base}/mail/%n
first_valid_uid = 1
auth_failure_delay = 0
{login_users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={base}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""
    )
    process = subprocess.Popen(
        [binary, "-F", "-c", str(base / "dovecot.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(port, process, log)
        yield Dovecot(port=port, cafile=str(base / "cert.pem"), log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot, transactional_db, published) -> Iterator[Dovecot]:
    """An empty INBOX; the database commits for real (\\Seen follows a commit).

    Triage tasks are really published to Redis and counted there, not run: these
    tests are about the mailbox.
    """
    dovecot.clear()
    dovecot.published = published
    yield dovecot
    dovecot.clear()


def test_unseen_mail_is_ingested_and_then_marked_seen(mailbox):
    mailbox.deliver(
        make_eml(message_id="<imap-1@example.com>", subject="Lamp broken"),
        make_eml(message_id="<imap-2@example.com>", subject="Parcel late"),
    )
    mailbox.deliver(make_eml(message_id="<read@example.com>"), seen=True)
    assert mailbox.unseen() == 2

    result = imap_poll(mailbox.settings())

    assert (result.fetched, result.created, result.failed) == (2, 2, [])
    stored = Message.objects.order_by("message_id")
    # One triage task per new mail, published to Redis on commit.
    assert sorted(mailbox.published.message_ids()) == sorted(m.pk for m in stored)
    assert [m.message_id for m in stored] == [
        "<imap-1@example.com>",
        "<imap-2@example.com>",
    ]
    assert {m.source for m in stored} == {"imap"}
    assert all(m.provider_message_id.startswith("imap://") for m in stored)
    assert mailbox.unseen() == 0
    # The next poll finds nothing; the mail already read by a person is untouched.
    assert imap_poll(mailbox.settings()).fetched == 0
    assert not Message.objects.filter(message_id="<read@example.com>").exists()


def test_a_failed_ingest_leaves_the_mail_unseen(mailbox, monkeypatch):
    from django.db import OperationalError

    from triage.services import imap as imap_service

    real_ingest = imap_service.email_ingest

    def flaky(raw, **kwargs):
        if b"<poison@example.com>" in raw:
            raise OperationalError("database hiccup")
        return real_ingest(raw, **kwargs)

    monkeypatch.setattr(imap_service, "email_ingest", flaky)
    mailbox.deliver(
        make_eml(message_id="<poison@example.com>"),
        make_eml(message_id="<fine@example.com>"),
    )
    result = imap_poll(mailbox.settings())
    assert result.created == 1 and len(result.failed) == 1
    assert mailbox.unseen() == 1  # still there for the next poll

    monkeypatch.setattr(imap_service, "email_ingest", real_ingest)
    assert imap_poll(mailbox.settings()).created == 1
    assert mailbox.unseen() == 0
    assert Message.objects.count() == 2


def test_a_refetched_mail_without_message_id_is_not_stored_twice(mailbox):
    mailbox.deliver(make_eml(message_id=None, body="No id, parcel 77 missing."))
    assert imap_poll(mailbox.settings()).created == 1
    message = Message.objects.get()
    assert message.message_id.startswith("<imap.")
    with mailbox.connect() as conn:  # as if \Seen had been lost
        conn.select("INBOX")
        conn.store("1:*", "-FLAGS.SILENT", r"(\Seen)")
    again = imap_poll(mailbox.settings())
    assert (again.fetched, again.created, again.duplicates) == (1, 0, 1)
    assert Message.objects.count() == 1


def test_batch_limits_one_poll(mailbox):
    mailbox.deliver(*(make_eml(message_id=f"<b{i}@example.com>") for i in range(3)))
    assert imap_poll(mailbox.settings(batch=2)).created == 2
    assert mailbox.unseen() == 1


def test_untrusted_certificate_is_refused(mailbox):
    with pytest.raises(ssl.SSLError):
        imap_poll(mailbox.settings(cafile=""))


def test_poll_refuses_to_run_inside_a_transaction(mailbox):
    from django.db import transaction

    with pytest.raises(ImapError), transaction.atomic():
        imap_poll(mailbox.settings())


def test_the_celery_task_polls_the_configured_mailbox(mailbox, settings):
    from workers.tasks.imap import imap_poll as task

    settings.IMAP_HOST = "127.0.0.1"
    settings.IMAP_PORT = mailbox.port
    settings.IMAP_USER = USER
    settings.IMAP_PASSWORD = PASSWORD
    settings.IMAP_CAFILE = mailbox.cafile
    mailbox.deliver(make_eml(message_id="<task@example.com>"))
    assert task.name == "mail.imap_poll"
    assert task.apply().get() == 1
    assert Message.objects.filter(message_id="<task@example.com>").exists()


def test_the_task_does_nothing_without_imap_host(settings):
    from workers.tasks.imap import imap_poll as task

    settings.IMAP_HOST = ""
    assert task.apply().get() == 0


@pytest.mark.parametrize(("host", "scheduled"), [("", False), ("imap.example", True)])
def test_beat_schedule_is_gated_on_imap_host(host, scheduled):
    code = (
        "import triage.settings as s;"
        "entry = s.CELERY_BEAT_SCHEDULE.get('mail-imap-poll');"
        "print(entry['task'] if entry else '-')"
    )
    env = {**os.environ, "IMAP_HOST": host}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert out == ("mail.imap_poll" if scheduled else "-")


# Last in the module: after a failed login Dovecot delays that client's next
# logins by seconds (its auth penalty), so nothing may log in after this.
def test_wrong_password_is_an_error(dovecot, transactional_db):
    with pytest.raises(imaplib.IMAP4.error):
        imap_poll(dovecot.settings(password="wrong"))


# --- Issue 10: a mail that cannot be stored never blocks the mailbox --------------


def _unstorable(monkeypatch, marker: bytes) -> None:
    """Make ingest of mail carrying `marker` fail as a database refusal would."""
    from django.db import DataError

    from triage.services import imap as imap_service

    real_ingest = imap_service.email_ingest

    def refusing(raw, **kwargs):
        if marker in raw:
            raise DataError("value refused by the database")
        return real_ingest(raw, **kwargs)

    monkeypatch.setattr(imap_service, "email_ingest", refusing)


def test_an_unstorable_mail_is_flagged_and_skipped_not_refetched(mailbox, monkeypatch):
    _unstorable(monkeypatch, b"<unstorable@example.com>")
    mailbox.deliver(
        make_eml(message_id="<unstorable@example.com>"),
        make_eml(message_id="<behind@example.com>"),
    )
    first = imap_poll(mailbox.settings(batch=1))  # the bad one comes first
    assert (first.created, first.failed, len(first.set_aside)) == (0, [], 1)
    second = imap_poll(mailbox.settings(batch=1))
    assert second.created == 1 and second.set_aside == []  # the queue moved on
    assert imap_poll(mailbox.settings()).fetched == 0  # never fetched again
    with mailbox.connect() as conn:
        conn.select("INBOX")
        _, data = conn.uid("SEARCH", "KEYWORD", "$TriageFailed")
        assert len(data[0].split()) == 1  # still on the server, for a person
    assert list(Message.objects.values_list("message_id", flat=True)) == [
        "<behind@example.com>"
    ]


def test_an_unstorable_mail_is_moved_to_the_configured_folder(mailbox, monkeypatch):
    _unstorable(monkeypatch, b"<unstorable-2@example.com>")
    mailbox.deliver(make_eml(message_id="<unstorable-2@example.com>"))
    result = imap_poll(mailbox.settings(failed_folder="Triage Failed"))
    assert len(result.set_aside) == 1
    with mailbox.connect() as conn:
        _, data = conn.select('"Triage Failed"')
        assert int(data[0]) == 1
        _, data = conn.select("INBOX")
        assert int(data[0]) == 0
        conn.select('"Triage Failed"')
        conn.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
        conn.expunge()


def test_hostile_dates_and_nul_headers_are_stored_not_refetched(mailbox):
    hostile = (
        b"From: Eve <eve@example.com>\r\nTo: support@example-shop.test\r\n"
        b"Subject: year ten thousand\r\nDate: Fri, 31 Dec 9999 23:00:00 -0500\r\n"
        b"Message-ID: <y10k@example.com>\r\n"
        b'Content-Type: text/plain; charset="utf-8\x00"\r\n\r\nHello\r\n'
    )
    offset = hostile.replace(b"-0500", b"+1600").replace(b"<y10k", b"<off16")
    mailbox.deliver(hostile, offset)
    result = imap_poll(mailbox.settings())
    assert (result.created, result.failed, result.set_aside) == (2, [], [])
    for message in Message.objects.all():
        assert message.sent_at is None and "ImplausibleDate" in message.parse_defects
