"""Which mail may get an automatic receipt (issue 15): never automated mail.

RFC 3834 (Auto-Submitted), the de-facto bulk markers (Precedence, List-*),
Microsoft's X-Auto-Response-Suppress, role senders (mailer-daemon, postmaster,
noreply ...), bounces (empty Return-Path), our own addresses and spam. Read
from the stored raw headers, so the rules need no new column.
"""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesHeaderParser
from email.utils import parseaddr

from django.conf import settings

from triage.models import Message, Ticket

ROLE_SENDER_RE = re.compile(
    r"^(?:mailer-daemon|postmaster|no-?reply|do-?not-?reply|donotreply|bounces?"
    r"|listserv|majordomo|owner-.+|.+-(?:bounces?|request|owner))(?:[+._-].*)?$",
    re.IGNORECASE,
)
BULK_PRECEDENCE = {"bulk", "list", "junk"}
LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Post")
# Other autoresponders' markers: a receipt to a receipt is how loops start.
AUTORESPONDER_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
SUPPRESS_VALUES = {"all", "autoreply", "oof"}


def own_addresses() -> set[str]:
    candidates = (
        settings.TRIAGE_SUPPORT_ADDRESS,
        settings.DEFAULT_FROM_EMAIL,
        settings.SERVER_EMAIL,
    )
    return {parseaddr(a)[1].strip().lower() for a in candidates if a} - {""}


def autoack_refusal(ticket: Ticket, message: Message) -> str:
    """Why this ticket's first mail gets no receipt; '' when it may get one."""
    if ticket.is_spam:
        return "spam or blocked sender"
    sender = (ticket.customer_email or "").strip().lower()
    if not sender or "@" not in sender:
        return "no sender address"
    if sender in own_addresses() or (message.from_address or "").lower() in (
        own_addresses()
    ):
        return "our own address"
    local = sender.rpartition("@")[0]
    if ROLE_SENDER_RE.match(local):
        return f"automated sender {local}@"
    return header_refusal(bytes(message.raw or b""))


def header_refusal(raw: bytes) -> str:
    """The header rules alone (raw MIME in; only the header block is parsed)."""
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)

    def value(name: str) -> str:
        return " ".join(str(headers.get(name, "")).split()).lower()

    auto = value("Auto-Submitted")
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto[:60]}"
    if value("Precedence") in BULK_PRECEDENCE:
        return f"Precedence: {value('Precedence')}"
    for name in LIST_HEADERS:
        if name in headers:
            return f"{name} header (mailing list)"
    for name in AUTORESPONDER_HEADERS:
        if name in headers:
            return f"{name} header (autoresponder)"
    suppress = {v.strip() for v in value("X-Auto-Response-Suppress").split(",")}
    if suppress & SUPPRESS_VALUES:
        return "X-Auto-Response-Suppress"
    if "Return-Path" in headers and parseaddr(value("Return-Path"))[1] == "":
        return "empty Return-Path (a bounce)"
    return ""
