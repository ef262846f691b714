"""Provider payloads -> raw MIME bytes, so every channel stores an RFC 5322 message.

When the provider sends the original MIME (Postmark `RawEmail`, Mailgun
`body-mime`, SendGrid raw mode `email`) those bytes are stored as they came. Else a
message is rebuilt from the parsed fields with the stdlib `EmailMessage`: the
provider's header list first (it keeps the original Message-ID, threading headers
and Received trail), then the fields it reports separately, then the bodies and
attachments. The rebuild is deterministic (multipart boundaries derive from the
content), so a provider's retry rebuilds the same bytes and dedupes even without a
Message-ID. `X-Triage-Rebuilt` marks a reconstruction.

Field names as documented:
- Postmark inbound webhook JSON: From/FromName/FromFull, To/ToFull, Cc/CcFull,
  ReplyTo, Subject, MessageID (Postmark's id), Date, TextBody, HtmlBody,
  Headers [{Name, Value}], Attachments [{Name, Content, ContentType, ContentID}]
  (Postmark's own test payload says `Data` for `Content`), RawEmail when "include
  raw email content" is on.
- Mailgun routes forward(): sender, recipient, from, subject, body-plain,
  body-html, message-headers (JSON [[name, value], ...]), attachment-count,
  attachment-1..n (files), content-id-map; URLs ending in "mime" get body-mime.
- SendGrid Inbound Parse: headers (raw header block), from, to, cc, subject,
  text, html, charsets (JSON field -> charset), attachments (count),
  attachment-info (JSON), attachment1..n (files); "send raw" posts `email`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from triage.mime import clean_text, decode_text
from triage.webhooks.body import Form

logger = logging.getLogger(__name__)

# Not copied from the provider's header list: the Content-* headers describe the
# original body, which the rebuild replaces with its own; Bcc must not be shown.
DROPPED_HEADERS = frozenset(
    {
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "content-id",
        "mime-version",
        "content-length",
        "lines",
        "bcc",
    }
)
MAX_HEADERS = 500
# RFC 5322 field-name: printable US-ASCII except the colon.
FIELD_NAME_RE = re.compile(r"[!-9;-~]{1,76}")


class PayloadError(ValueError):
    """The provider's payload cannot be turned into a message (after auth)."""


@dataclass
class RebuildAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""


@dataclass
class Rebuild:
    """Fields of a message a provider delivered parsed."""

    source: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Used only when `headers` lacks them.
    fallback_headers: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    html: str = ""
    attachments: list[RebuildAttachment] = field(default_factory=list)


@dataclass(frozen=True)
class InboundMail:
    raw: bytes
    provider_message_id: str = ""


# --- Postmark -------------------------------------------------------------------


def postmark_mail(payload: Any) -> InboundMail:
    if not isinstance(payload, dict):
        raise PayloadError("Postmark payload is not a JSON object")
    provider_id = _str(payload.get("MessageID"))
    raw_email = payload.get("RawEmail")
    if isinstance(raw_email, str) and raw_email.strip():
        return InboundMail(_encode_raw(raw_email), provider_id)
    if not any(payload.get(k) for k in ("From", "FromFull", "TextBody", "HtmlBody")):
        raise PayloadError("Postmark payload has neither sender nor body")
    rebuild = Rebuild(source="postmark")
    for item in _list(payload.get("Headers")):
        if isinstance(item, dict):
            rebuild.headers.append((_str(item.get("Name")), _str(item.get("Value"))))
    rebuild.fallback_headers = [
        (
            "From",
            _postmark_address(payload.get("FromFull")) or _str(payload.get("From")),
        ),
        ("To", _postmark_addresses(payload.get("ToFull")) or _str(payload.get("To"))),
        ("Cc", _postmark_addresses(payload.get("CcFull")) or _str(payload.get("Cc"))),
        ("Reply-To", _str(payload.get("ReplyTo"))),
        ("Subject", _str(payload.get("Subject"))),
        ("Date", _str(payload.get("Date"))),
    ]
    rebuild.text = _str(payload.get("TextBody"))
    rebuild.html = _str(payload.get("HtmlBody"))
    for item in _list(payload.get("Attachments")):
        if not isinstance(item, dict):
            continue
        content = item.get("Content", item.get("Data"))
        rebuild.attachments.append(
            RebuildAttachment(
                filename=_str(item.get("Name")),
                content_type=_str(item.get("ContentType")),
                data=_b64(content),
                content_id=_str(item.get("ContentID")),
            )
        )
    return InboundMail(build_mime(rebuild), provider_id)


def _postmark_address(value: Any) -> str:
    if not isinstance(value, dict) or not value.get("Email"):
        return ""
    return _format_address(_str(value.get("Name")), _str(value.get("Email")))


def _postmark_addresses(value: Any) -> str:
    return ", ".join(a for a in (_postmark_address(v) for v in _list(value)) if a)


# --- Mailgun --------------------------------------------------------------------


def mailgun_mail(form: Form) -> InboundMail:
    body_mime = form.get("body-mime")
    if body_mime is not None and body_mime.data.strip():
        return InboundMail(body_mime.data)
    if not any(form.get(k) for k in ("from", "sender", "body-plain", "body-html")):
        raise PayloadError("Mailgun payload has neither sender nor body")
    rebuild = Rebuild(source="mailgun")
    try:
        pairs = json.loads(form.text("message-headers") or "[]")
    except ValueError:
        pairs = []
    for pair in _list(pairs):
        if isinstance(pair, list) and len(pair) == 2:
            rebuild.headers.append((_str(pair[0]), _str(pair[1])))
    rebuild.fallback_headers = [
        ("From", form.text("from") or form.text("sender")),
        ("To", form.text("To") or form.text("recipient")),
        ("Cc", form.text("Cc")),
        ("Subject", form.text("subject")),
        ("Date", form.text("Date")),
        ("Message-ID", form.text("Message-Id")),
        ("In-Reply-To", form.text("In-Reply-To")),
        ("References", form.text("References")),
    ]
    rebuild.text = form.text("body-plain")
    rebuild.html = form.text("body-html")
    try:
        cids = json.loads(form.text("content-id-map") or "{}")
    except ValueError:
        cids = {}
    by_name = {v: k for k, v in cids.items()} if isinstance(cids, dict) else {}
    for part in form.files:
        rebuild.attachments.append(
            RebuildAttachment(
                filename=part.filename or "",
                content_type=part.content_type,
                data=part.data,
                content_id=_str(by_name.get(part.name, "")),
            )
        )
    return InboundMail(build_mime(rebuild))


# --- SendGrid -------------------------------------------------------------------


def sendgrid_mail(form: Form) -> InboundMail:
    email_field = form.get("email")
    if email_field is not None and email_field.data.strip():
        return InboundMail(email_field.data)
    if not any(form.get(k) for k in ("from", "headers", "text", "html")):
        raise PayloadError("SendGrid payload has neither sender nor body")
    try:
        charsets = json.loads(form.text("charsets") or "{}")
    except ValueError:
        charsets = {}
    if not isinstance(charsets, dict):
        charsets = {}

    def text(name: str) -> str:
        return form.text(name, _str(charsets.get(name)) or None)

    rebuild = Rebuild(source="sendgrid")
    rebuild.headers = _header_block(form.get("headers"))
    rebuild.fallback_headers = [
        ("From", text("from")),
        ("To", text("to")),
        ("Cc", text("cc")),
        ("Subject", text("subject")),
    ]
    rebuild.text = text("text")
    rebuild.html = text("html")
    try:
        info = json.loads(form.text("attachment-info") or "{}")
    except ValueError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    for part in form.files:
        meta = info.get(part.name) if isinstance(info.get(part.name), dict) else {}
        rebuild.attachments.append(
            RebuildAttachment(
                filename=_str(meta.get("filename")) or part.filename or "",
                content_type=_str(meta.get("type")) or part.content_type,
                data=part.data,
                content_id=_str(meta.get("content-id")),
            )
        )
    return InboundMail(build_mime(rebuild))


def _header_block(part: Any) -> list[tuple[str, str]]:
    """SendGrid's `headers` field: the original header block, parsed as one."""
    if part is None or not part.data.strip():
        return []
    block = part.data.rstrip(b"\r\n") + b"\r\n\r\n"
    parsed = BytesParser(policy=policy.compat32).parsebytes(block, headersonly=True)
    pairs = []
    for name, value in parsed.raw_items():
        text = str(value)
        # 8-bit bytes survive the parse as surrogate escapes.
        with contextlib.suppress(UnicodeEncodeError):
            text = decode_text(text.encode("ascii", "surrogateescape"), "utf-8")
        pairs.append((name, text))
    return pairs


# --- Rebuild --------------------------------------------------------------------


def build_mime(rebuild: Rebuild) -> bytes:
    """An RFC 5322 message from parsed fields; falls back to fewer headers rather
    than failing, because the mail must be stored even if a header is hostile."""
    for keep_headers in (True, False):
        try:
            return _build(rebuild, keep_headers=keep_headers)
        except Exception as exc:
            logger.warning(
                "Rebuilding a %s message failed (headers=%s): %s",
                rebuild.source,
                keep_headers,
                exc,
            )
    return _build_minimal(rebuild)


def _build(rebuild: Rebuild, *, keep_headers: bool) -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    seen: set[str] = set()
    headers = rebuild.headers if keep_headers else []
    essentials = {"from", "to", "cc", "subject", "date", "message-id"}
    for name, value in [*headers, *rebuild.fallback_headers][:MAX_HEADERS]:
        key = name.strip().lower()
        if not FIELD_NAME_RE.fullmatch(key) or key in DROPPED_HEADERS:
            continue  # the stdlib does not check names: "X\r\nBcc" would inject
        if not value.strip():
            continue
        if not keep_headers and key not in essentials:
            continue
        if key in seen and key in essentials:
            continue  # the provider's header list wins over its separate fields
        if _set_header(msg, name.strip(), value):
            seen.add(key)
    msg["X-Triage-Rebuilt"] = f"{rebuild.source} webhook fields"
    _set_bodies(msg, rebuild)
    _set_boundaries(msg, _seed(rebuild))
    return msg.as_bytes()


def _set_header(msg: EmailMessage, name: str, value: str) -> bool:
    # Providers hand over unfolded or folded values; no header may carry a line
    # break of its own (header injection), so fold them away.
    value = " ".join(value.split())
    try:
        msg[name] = value
    except Exception as exc:  # duplicates of unique headers, unparsable values
        logger.debug("Header %s dropped from a rebuilt message: %s", name, exc)
        return False
    return True


def _set_bodies(msg: EmailMessage, rebuild: Rebuild) -> None:
    if rebuild.text or not rebuild.html:
        msg.set_content(rebuild.text)
        if rebuild.html:
            msg.add_alternative(rebuild.html, subtype="html")
    else:
        msg.set_content(rebuild.html, subtype="html")
    for item in rebuild.attachments:
        maintype, _, subtype = item.content_type.strip().lower().partition("/")
        if not maintype.isascii() or not maintype or not subtype or " " in subtype:
            maintype, subtype = "application", "octet-stream"
        if maintype in ("multipart", "message"):
            maintype, subtype = "application", "octet-stream"
        kwargs: dict[str, Any] = {"filename": " ".join(item.filename.split()) or None}
        if item.content_id:
            kwargs["cid"] = f"<{item.content_id.strip('<> ')}>"
            kwargs["disposition"] = "inline"
        msg.add_attachment(item.data, maintype=maintype, subtype=subtype, **kwargs)


def _seed(rebuild: Rebuild) -> str:
    digest = hashlib.sha256()
    for chunk in _seed_chunks(rebuild):
        digest.update(chunk)
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def _seed_chunks(rebuild: Rebuild) -> Iterable[bytes]:
    for name, value in [*rebuild.headers, *rebuild.fallback_headers]:
        yield f"{name}:{value}".encode("utf-8", "surrogatepass")
    yield rebuild.text.encode("utf-8", "surrogatepass")
    yield rebuild.html.encode("utf-8", "surrogatepass")
    for item in rebuild.attachments:
        yield item.data


def _set_boundaries(msg: EmailMessage, seed: str) -> None:
    for index, part in enumerate(msg.walk()):
        if part.is_multipart():
            part.set_boundary(f"=_triage_{seed}_{index}")


def _build_minimal(rebuild: Rebuild) -> bytes:
    """Last resort: the text alone; the provider's fields were beyond repair."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["X-Triage-Rebuilt"] = f"{rebuild.source} webhook fields (headers dropped)"
    body = rebuild.text or rebuild.html
    msg.set_content(body.encode("utf-8", "replace"), "text", "plain")
    return msg.as_bytes()


# --- Helpers --------------------------------------------------------------------


def _encode_raw(raw: str) -> bytes:
    # JSON cannot carry bytes; the 8-bit characters came in as UTF-8.
    return raw.encode("utf-8", "surrogatepass")


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return b""


def _str(value: Any) -> str:
    """A JSON value as text a message can carry (JSON allows lone surrogates)."""
    if value is None:
        return ""
    return clean_text(value if isinstance(value, str) else str(value))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _format_address(name: str, email: str) -> str:
    try:
        return str(Address(display_name=name, addr_spec=email))
    except Exception:
        return email
