"""IMAP polling, the second inbound channel: UNSEEN mail in, \\Seen after commit.

Each message is fetched with BODY.PEEK[] (fetching marks nothing), stored through
`email_ingest` (which commits), and only then flagged \\Seen. A crash between the
two leaves it unseen: the next poll fetches it again and the Message-ID (or, for a
mail without one, its IMAP URL) dedupes it. Nothing is ever lost or stored twice.

A mail that cannot be stored for a reason of its own (not the database being
down) would be fetched first by every poll, and `batch` such mails would block the
mailbox for good: it is set aside instead -- moved to `failed_folder`, or, when
none is configured, given the keyword `$TriageFailed` that the search skips -- and
logged with its error (issue 10). It stays on the server for a person to look at.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from dataclasses import dataclass, field

from django.db import InterfaceError, OperationalError, transaction

from triage.services.ingest import email_ingest

logger = logging.getLogger(__name__)

UID_RE = re.compile(rb"\bUID (\d+)")
DEFAULT_TIMEOUT = 60.0
FAILED_KEYWORD = "$TriageFailed"
# The database (or its connection) failing is no fault of the mail: leave it unseen
# for the next poll instead of setting it aside.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


class ImapError(Exception):
    pass


@dataclass(frozen=True)
class ImapSettings:
    host: str
    user: str
    password: str
    port: int = 993
    folder: str = "INBOX"
    cafile: str = ""
    batch: int = 50
    timeout: float = DEFAULT_TIMEOUT
    # Where a mail that cannot be stored goes; '' flags it `$TriageFailed` instead.
    failed_folder: str = ""


@dataclass
class ImapPollResult:
    fetched: int = 0
    created: int = 0
    duplicates: int = 0
    # UIDs left unseen after a transient (database) error, fetched again next poll.
    failed: list[int] = field(default_factory=list)
    # UIDs that could not be stored, moved or flagged out of the next polls' way.
    set_aside: list[int] = field(default_factory=list)


def imap_poll(config: ImapSettings) -> ImapPollResult:
    """Ingest up to `config.batch` UNSEEN messages of one folder, oldest first."""
    if transaction.get_connection().in_atomic_block:
        # \\Seen must follow a real commit, not a savepoint of the caller's.
        raise ImapError("imap_poll must run outside a transaction")
    result = ImapPollResult()
    context = ssl.create_default_context(cafile=config.cafile or None)
    with imaplib.IMAP4_SSL(
        config.host, config.port, ssl_context=context, timeout=config.timeout
    ) as conn:
        _ok(conn.login(config.user, config.password), "LOGIN")
        _ok(conn.select(_quoted(config.folder)), "SELECT")
        uidvalidity = _uidvalidity(conn)
        _, data = _ok(
            conn.uid("SEARCH", "UNSEEN", "UNKEYWORD", FAILED_KEYWORD), "SEARCH"
        )
        uids = [int(u) for u in (data[0] or b"").split()][: config.batch]
        for uid in uids:
            raw = _fetch(conn, uid)
            if raw is None:
                continue  # expunged meanwhile
            result.fetched += 1
            url = _imap_url(config, uidvalidity, uid)
            try:
                outcome = email_ingest(raw, source="imap", provider_message_id=url)
            except TRANSIENT_ERRORS:
                # Left unseen: the next poll tries again. Other mail goes on.
                logger.exception("IMAP ingest of %s failed; retried next poll", url)
                result.failed.append(uid)
                continue
            except Exception:
                logger.exception(
                    "IMAP ingest of %s failed; set aside (%s)",
                    url,
                    config.failed_folder or FAILED_KEYWORD,
                )
                _set_aside(conn, uid, config.failed_folder)
                result.set_aside.append(uid)
                continue
            # email_ingest has committed: only now may the server forget it.
            _ok(conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)"), "STORE")
            if outcome.created:
                result.created += 1
            else:
                result.duplicates += 1
    logger.info(
        "IMAP poll of %s@%s/%s: %s fetched, %s new, %s duplicates, %s failed, "
        "%s set aside",
        config.user,
        config.host,
        config.folder,
        result.fetched,
        result.created,
        result.duplicates,
        len(result.failed),
        len(result.set_aside),
    )
    return result


def _set_aside(conn: imaplib.IMAP4, uid: int, folder: str) -> None:
    """Move the mail to `folder` (created if missing), else flag it $TriageFailed."""
    if folder:
        conn.create(_quoted(folder))  # NO when it exists: fine
        status, data = conn.uid("MOVE", str(uid), _quoted(folder))
        if status == "OK":
            return
        logger.error("IMAP MOVE of UID %s to %s failed: %r", uid, folder, data)
    _ok(conn.uid("STORE", str(uid), "+FLAGS.SILENT", f"({FAILED_KEYWORD})"), "STORE")


def _ok(response: tuple[str, list], command: str) -> tuple[str, list]:
    status, data = response
    if status != "OK":
        raise ImapError(f"{command} failed: {status} {data!r}")
    return status, data


def _quoted(folder: str) -> str:
    # imaplib sends the mailbox name as is; names with spaces need quoting.
    escaped = folder.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _uidvalidity(conn: imaplib.IMAP4) -> str:
    _, values = conn.response("UIDVALIDITY")
    value = values[0] if values and values[0] else b"0"
    return value.decode() if isinstance(value, bytes) else str(value)


def _fetch(conn: imaplib.IMAP4, uid: int) -> bytes | None:
    _, data = _ok(conn.uid("FETCH", str(uid), "(BODY.PEEK[])"), "FETCH")
    for item in data:
        # A literal comes back as (b'3 (UID 7 BODY[] {1234}', b'<bytes>'); the
        # server may add unsolicited FETCH responses for other messages.
        if isinstance(item, tuple) and len(item) == 2:
            match = UID_RE.search(item[0])
            if match is None or int(match.group(1)) == uid:
                return item[1]
    return None


def _imap_url(config: ImapSettings, uidvalidity: str, uid: int) -> str:
    """RFC 5092 IMAP URL: names the message for as long as UIDVALIDITY holds."""
    return (
        f"imap://{config.user}@{config.host}/{config.folder}"
        f";UIDVALIDITY={uidvalidity}/;UID={uid}"
    )
