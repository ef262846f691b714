"""Parse raw RFC 5322 bytes into plain fields. Never raises: broken mail is flagged.

Built on the stdlib `email` package with `policy.default`; what is hand-written here
is only the fallback glue around it (charset fallbacks, header access that survives
malformed headers), because a support desk must store every message it receives.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import nh3
from inscriptis import get_text

logger = logging.getLogger(__name__)

MSG_ID_RE = re.compile(r"<[^<>\s]+>")
CHARSET_FALLBACKS = ("utf-8", "cp1252", "latin-1")


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    payload: bytes


@dataclass
class ParsedEmail:
    message_id: str
    message_id_synthetic: bool
    in_reply_to: str
    references: list[str]
    from_address: str
    from_name: str
    to: str
    cc: str
    subject: str
    sent_at: datetime | None
    text_body: str
    html_body: str
    raw_sha256: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    @property
    def is_malformed(self) -> bool:
        return bool(self.defects)


def parse_email(raw: bytes) -> ParsedEmail:
    sha = hashlib.sha256(raw).hexdigest()
    defects: list[str] = []
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; this is belt and braces
        logger.warning("MIME parse failed for sha256=%s: %s", sha, exc)
        return _unparseable(raw, sha, f"{type(exc).__name__}: {exc}")

    for part in msg.walk():
        defects.extend(type(d).__name__ for d in part.defects)

    message_ids = MSG_ID_RE.findall(_header(msg, "Message-ID", defects))
    in_reply_to = MSG_ID_RE.findall(_header(msg, "In-Reply-To", defects))
    from_name, from_address = parseaddr(_header(msg, "From", defects))
    if not from_address:
        defects.append("MissingFromAddress")
    text_body, html_body = _bodies(msg, defects)
    return ParsedEmail(
        message_id=message_ids[0] if message_ids else f"<{sha}@triage.invalid>",
        message_id_synthetic=not message_ids,
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=MSG_ID_RE.findall(_header(msg, "References", defects)),
        from_address=from_address.lower(),
        from_name=from_name,
        to=_addresses(_header(msg, "To", defects)),
        cc=_addresses(_header(msg, "Cc", defects)),
        subject=_header(msg, "Subject", defects)[:998],
        sent_at=_date(_header(msg, "Date", defects)),
        text_body=text_body,
        html_body=html_body,
        raw_sha256=sha,
        attachments=_attachments(msg, defects),
        defects=sorted(set(defects)),
    )


def _unparseable(raw: bytes, sha: str, error: str) -> ParsedEmail:
    return ParsedEmail(
        message_id=f"<{sha}@triage.invalid>",
        message_id_synthetic=True,
        in_reply_to="",
        references=[],
        from_address="",
        from_name="",
        to="",
        cc="",
        subject="",
        sent_at=None,
        text_body=_decode(raw, None),
        html_body="",
        raw_sha256=sha,
        defects=[error],
    )


def _header(msg: EmailMessage, name: str, defects: list[str]) -> str:
    """The header as a unicode string, '' when absent, never an exception."""
    try:
        value = msg[name]
        if value is None:
            return ""
        defects.extend(type(d).__name__ for d in getattr(value, "defects", ()))
        return _one_line(str(value))
    except Exception as exc:
        # policy.default raises on some malformed structured headers; fall back to
        # the raw value decoded as RFC 2047 words where possible.
        defects.append(f"BadHeader:{name}:{type(exc).__name__}")
        raw_value = next(
            (v for k, v in msg.raw_items() if k.lower() == name.lower()), ""
        )
        try:
            return _one_line(str(make_header(decode_header(raw_value))))
        except Exception:
            return _one_line(str(raw_value))


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _addresses(value: str) -> str:
    pairs = getaddresses([value]) if value else []
    return ", ".join(addr for _, addr in pairs if addr)


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decode(payload: bytes, charset: str | None) -> str:
    for candidate in (charset, *CHARSET_FALLBACKS):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1", errors="replace")  # unreachable: latin-1 is total


def _part_text(part: EmailMessage, defects: list[str]) -> str:
    try:
        content = part.get_content()
        if isinstance(content, str):
            return content
    except Exception as exc:
        defects.append(f"BadBody:{type(exc).__name__}")
    payload = part.get_payload(decode=True) or b""
    if isinstance(payload, str):  # pragma: no cover - defensive
        return payload
    return _decode(payload, part.get_content_charset())


def _bodies(msg: EmailMessage, defects: list[str]) -> tuple[str, str]:
    try:
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
    except Exception as exc:
        defects.append(f"BadStructure:{type(exc).__name__}")
        plain = html = None
    html_body = ""
    if html is not None:
        html_body = nh3.clean(_part_text(html, defects))
    if plain is not None:
        text_body = _part_text(plain, defects)
    elif html is not None:
        # HTML-only mail: the models read text, agents see the sanitised HTML.
        text_body = get_text(html_body).strip()
    elif msg.is_multipart():
        text_body = ""
    else:
        # A single part that is neither text/plain nor text/html (or broken).
        text_body = _part_text(msg, defects)
    return text_body.replace("\r\n", "\n"), html_body


def _attachments(msg: EmailMessage, defects: list[str]) -> list[ParsedAttachment]:
    found: list[ParsedAttachment] = []
    try:
        parts = list(msg.iter_attachments()) if msg.is_multipart() else []
    except Exception as exc:
        defects.append(f"BadAttachments:{type(exc).__name__}")
        return found
    for part in parts:
        if part.is_multipart():
            continue
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception as exc:
            defects.append(f"BadAttachment:{type(exc).__name__}")
            payload = b""
        found.append(
            ParsedAttachment(
                filename=(part.get_filename() or "")[:255],
                content_type=part.get_content_type(),
                payload=payload,
            )
        )
    return found
