"""Parse raw RFC 5322 bytes into plain fields. Never raises: broken mail is flagged.

Built on the stdlib `email` package with `policy.default`, `nh3` (HTML sanitising)
and `inscriptis` (HTML to text); what is hand-written here is only the fallback glue
around them -- charset aliases and fallbacks, header access that survives malformed
and 8-bit headers, text PostgreSQL can store -- because a support desk must store
every message it receives and no library does this part.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import logging
import re
import struct
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import _header_value_parser as header_parser
from email.header import decode_header
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.policy import EmailPolicy, compat32
from email.utils import parsedate_to_datetime
from functools import lru_cache

import nh3
from inscriptis import get_text

logger = logging.getLogger(__name__)

MSG_ID_RE = re.compile(r"<[^<>\s]+>")
# RFC 5322 caps a line at 998 characters; longer ids are hashed, not truncated, so
# two distinct ids never collapse into one.
MSG_ID_MAX = 998
# Above this the HTML is still stored (sanitised) but only its head becomes text:
# inscriptis needs ~2 s per MB here and the models read 20k characters at most.
HTML_TO_TEXT_MAX_CHARS = 300_000
MAX_ATTACHMENT_DEPTH = 5
# Parts the parser walks at most: 100k tiny parts cost the stdlib parser ~25 s. The
# raw is kept whole; only the parse stops (see `_cap_parts`).
MAX_MIME_PARTS = 1000
# A header date is kept only when it is a plausible moment: real zone offsets run
# from -12:00 to +14:00 (PostgreSQL refuses +-16:00 and more), and a year outside
# these bounds is a broken or hostile clock (9999-12-31 -05:00 is year 10000 in UTC,
# which PostgreSQL stores but Python cannot read back).
MAX_ZONE_OFFSET = timedelta(hours=14)
EARLIEST_DATE = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_DATE = datetime(2100, 1, 1, tzinfo=UTC)

# Labels mail clients put in `charset=` mapped to the Python codecs to try, in
# order. Mostly the WHATWG Encoding Standard's rule of decoding a legacy label with
# its superset (latin-1 as windows-1252, gb2312 as gb18030, ...), because that is
# what the sending client really produced.
CHARSET_ALIASES: dict[str, tuple[str, ...]] = {
    "iso-8859-1": ("cp1252", "latin-1"),
    "latin1": ("cp1252", "latin-1"),
    "latin-1": ("cp1252", "latin-1"),
    "us-ascii": ("ascii",),
    "gb2312": ("gb18030",),
    "iso-gb2312": ("gb18030",),
    "gb_2312-80": ("gb18030",),
    "gbk": ("gb18030",),
    "x-gbk": ("gb18030",),
    "euc-cn": ("gb18030",),
    "ks_c_5601-1987": ("cp949",),
    "ks_c_5601": ("cp949",),
    "euc-kr": ("cp949",),
    "shift_jis": ("cp932", "shift_jis"),
    "shift-jis": ("cp932", "shift_jis"),
    "sjis": ("cp932",),
    "x-sjis": ("cp932",),
    "windows-31j": ("cp932",),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2"),
    "big5": ("cp950", "big5hkscs"),
    "unicode-1-1-utf-7": ("utf-7",),
    "iso-8859-8-i": ("iso8859_8",),
    "x-mac-roman": ("mac_roman",),
}
# Labels that say "we don't know": skip straight to the fallbacks.
UNKNOWN_CHARSETS = frozenset(
    {"x-unknown", "unknown", "unknown-8bit", "x-user-defined", "8bit", "default"}
)
# Python codecs that are text encodings but no mail charset; `punycode`/`idna` also
# cost quadratic time on hostile input.
REFUSED_CODECS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined"}
)
_UTF8_FAMILY = frozenset({"ascii", "utf-8"})


class _MemoPolicy(EmailPolicy):
    """policy.default with parsed header values memoised.

    The stdlib re-parses a header on every access, and `get_body()` alone reads
    each part's Content-Type several times; most values ("text/plain;
    charset=utf-8") repeat across mail. The parse is a pure function of (name,
    value) and its result is immutable, so a bounded cache changes nothing but time.
    """

    def header_fetch_parse(self, name: str, value: str):  # type: ignore[override]
        if hasattr(value, "name") or len(value) > 256:
            return super().header_fetch_parse(name, value)
        return _parse_header(self.header_factory, name, value)


@lru_cache(maxsize=4096)
def _parse_header(factory, name: str, value: str):
    # As EmailPolicy.header_fetch_parse unfolds: drop CR and LF only.
    return factory(name, _LINE_BREAKS.sub("", value))


_LINE_BREAKS = re.compile(r"[\r\n]")
PARSE_POLICY = _MemoPolicy()


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


def parse_email(raw: bytes, *, max_parts: int = MAX_MIME_PARTS) -> ParsedEmail:
    sha = hashlib.sha256(raw).hexdigest()
    defects: list[str] = []
    head, capped = _cap_parts(raw, max_parts)
    if capped:
        defects.append(f"MimePartsCapped:{max_parts}")
    try:
        msg = BytesParser(policy=PARSE_POLICY).parsebytes(head)
        for part in msg.walk():
            defects.extend(type(d).__name__ for d in part.defects)
    except Exception as exc:  # the parser is lenient; this is belt and braces
        logger.warning("MIME parse failed for sha256=%s: %s", sha, exc)
        return _unparseable(raw, sha, f"{type(exc).__name__}: {exc}")

    try:
        return _parsed(msg, sha, defects)
    except Exception as exc:
        # A structure no branch above foresaw: keep the raw, flag, move on.
        logger.warning("MIME field extraction failed for sha256=%s: %s", sha, exc)
        return _unparseable(raw, sha, f"{type(exc).__name__}: {exc}")


def _parsed(msg: EmailMessage, sha: str, defects: list[str]) -> ParsedEmail:
    # Ids and addresses are read from the raw headers: nothing in them needs
    # decoding, and policy.default's structured parse is the costliest step of a
    # webhook request.
    in_reply_to = MSG_ID_RE.findall(_raw_header(msg, "In-Reply-To"))
    from_name, from_address = _from(msg, defects)
    if not from_address:
        defects.append("MissingFromAddress")
    text_body, html_body = _bodies(msg, defects)
    message_id = header_message_id(msg)
    return ParsedEmail(
        message_id=message_id or f"<{sha}@triage.invalid>",
        message_id_synthetic=not message_id,
        in_reply_to=_fit_msg_id(in_reply_to[0]) if in_reply_to else "",
        references=[
            _fit_msg_id(ref)
            for ref in MSG_ID_RE.findall(_raw_header(msg, "References"))
        ],
        from_address=clean_text(from_address.lower()),
        from_name=clean_text(from_name),
        to=clean_text(_addresses(_raw_header(msg, "To"))),
        cc=clean_text(_addresses(_raw_header(msg, "Cc"))),
        subject=clean_text(_header(msg, "Subject", defects))[:998],
        sent_at=_date(_header(msg, "Date", defects), defects),
        text_body=clean_text(text_body),
        html_body=clean_text(html_body),
        raw_sha256=sha,
        attachments=_attachments(msg, defects),
        defects=sorted(set(defects)),
    )


def header_message_id(msg: EmailMessage) -> str:
    """The mail's own Message-ID (the first msg-id of the first header), or ''."""
    message_ids = MSG_ID_RE.findall(_raw_header(msg, "Message-ID"))
    return _fit_msg_id(message_ids[0]) if message_ids else ""


def quick_message_id(raw: bytes, head_limit: int = 256 * 1024) -> str:
    """The Message-ID `parse_email` will find, from the header block alone.

    Costs microseconds whatever the body holds, so a duplicate (a provider's
    retry) is recognised before the expensive parse.
    """
    head = raw[:head_limit]
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = head.find(separator)
        if end >= 0:
            head = head[: end + len(separator)]
            break
    try:
        msg = BytesHeaderParser(policy=compat32).parsebytes(head)
    except Exception:
        return ""
    return header_message_id(msg)  # type: ignore[arg-type]


_DELIMITER_RE = re.compile(rb"^--", re.MULTILINE)


def _cap_parts(raw: bytes, max_parts: int) -> tuple[bytes, bool]:
    """The raw cut before its `max_parts`-th multipart delimiter line, if it has more.

    Every delimiter line starts with "--"; counting such lines over-counts (a
    "-- " signature), never under-counts, so a mail under the cap is never cut.
    A regex scan costs milliseconds where parsing 100k parts costs seconds.
    """
    if max_parts <= 0 or raw.count(b"\n--") < max_parts:
        return raw, False
    for index, match in enumerate(_DELIMITER_RE.finditer(raw)):
        if index >= max_parts:
            return raw[: match.start()], True
    return raw, False


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
        text_body=clean_text(decode_text(raw, None)),
        html_body="",
        raw_sha256=sha,
        defects=[error[:500]],
    )


def _fit_msg_id(value: str) -> str:
    value = clean_text(value)
    if len(value) <= MSG_ID_MAX:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()
    return f"<{digest}.long@triage.invalid>"


def clean_text(value: str) -> str:
    """Text PostgreSQL accepts: no NUL, no lone surrogates (psycopg refuses both)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def _header(msg: EmailMessage, name: str, defects: list[str]) -> str:
    """The header as a unicode string, '' when absent, never an exception."""
    try:
        value = msg[name]
        if value is None:
            return ""
        defects.extend(type(d).__name__ for d in getattr(value, "defects", ()))
        text = str(value)
        if "\ufffd" in text:
            # policy.default decoded raw 8-bit bytes as UTF-8, or an encoded word in
            # its declared charset, with replacement: decode again with fallbacks.
            text = _header_from_raw(msg, name) or text
        return _one_line(text)
    except Exception as exc:
        # policy.default raises on some malformed structured headers.
        defects.append(f"BadHeader:{name}:{type(exc).__name__}")
        raw_value = _raw_header(msg, name)
        return _one_line(_header_from_raw(msg, name) or raw_value)


def _from(msg: EmailMessage, defects: list[str]) -> tuple[str, str]:
    """(display name, address) of the first From mailbox.

    The address is the header's addr-spec as it stands in the raw header, never
    text decoded from an encoded word or a display name: `=?utf-8?q?=0A=3A_victim
    =40victim.test?= <attacker@evil.test>` is attacker@evil.test. Only the display
    name is decoded, and only for showing.
    """
    mailboxes = header_mailboxes(_raw_header(msg, "From"), defects, "From")
    if not mailboxes:
        return "", ""
    name, address = mailboxes[0]
    if _has_surrogates(name):
        # Raw 8-bit bytes in the name: decode them like the rest of the mail.
        with contextlib.suppress(UnicodeEncodeError):
            name = decode_text(
                name.encode("ascii", "surrogateescape"), _header_charset(msg)
            )
    return _one_line(_CONTROL_RE.sub(" ", name)), address


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# What an addr-spec may hold once it is known to stand verbatim in the header: no
# whitespace or control characters, one "@" outside the quoted local part.
_ADDR_SPEC_RE = re.compile(
    r'(?:"[^"\\\x00-\x1f\x7f]*"|[^\s"@<>,;:()\[\]\\]+)@[A-Za-z0-9.\[\]:_-]+'
)
_ANGLE_ADDR_RE = re.compile(r"<([^<>\s@]+@[^<>\s@]+)>")


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in value)


def header_mailboxes(
    raw_value: str, defects: list[str] | None = None, name: str = "address"
) -> list[tuple[str, str]]:
    """[(display name, addr-spec)] of an address header, from its raw value.

    `email.headerregistry.Address` refuses a whole header whose decoded display
    name holds CR or LF -- exactly the hostile case -- so this walks the same
    stdlib parser (`email._header_value_parser`, what headerregistry is built on)
    and keeps an addr-spec only when it stands verbatim in the raw header: the
    parser also decodes encoded words it finds in an obsolete local part.
    """
    value = _one_line(raw_value)
    if not value:
        return []
    found: list[tuple[str, str]] = []
    try:
        address_list, _ = header_parser.get_address_list(value)
        mailboxes = address_list.all_mailboxes
    except Exception:
        mailboxes = []
    for mailbox in mailboxes:
        try:
            addr_spec = mailbox.addr_spec
            display_name = mailbox.display_name or ""
        except Exception as exc:  # a token the parser could not complete
            logger.debug("Mailbox skipped in %s header: %s", name, exc)
            continue
        if _verbatim_addr_spec(addr_spec, value):
            found.append((display_name, addr_spec))
    if not found:
        # Beyond the parser: a plain <local@domain> written in the header still
        # names the sender; nothing decoded is ever taken for an address.
        found = [("", m) for m in _ANGLE_ADDR_RE.findall(value)][:1]
        if found and defects is not None:
            defects.append(f"BadAddressHeader:{name}")
    return found


def _verbatim_addr_spec(addr_spec: str | None, raw_value: str) -> bool:
    if not addr_spec or "@" not in addr_spec:
        return False
    if not _ADDR_SPEC_RE.fullmatch(addr_spec) or "=?" in addr_spec:
        return False
    return addr_spec.lower() in raw_value.lower()


def _decode_words(value: str) -> str:
    try:
        chunks = decode_header(value)
    except Exception:
        return ""
    return "".join(
        chunk if isinstance(chunk, str) else decode_text(chunk, charset)
        for chunk, charset in chunks
    )


def _raw_header(msg: EmailMessage, name: str) -> str:
    wanted = name.lower()
    return str(next((v for k, v in msg.raw_items() if k.lower() == wanted), ""))


def _header_from_raw(msg: EmailMessage, name: str) -> str:
    """RFC 2047 words and raw 8-bit bytes decoded with fallbacks; '' on failure."""
    raw_value = _raw_header(msg, name)
    # BytesParser keeps 8-bit header bytes as surrogate escapes.
    with contextlib.suppress(UnicodeEncodeError):
        raw_value = decode_text(
            raw_value.encode("ascii", "surrogateescape"), _header_charset(msg)
        )
    return _decode_words(raw_value)


def _header_charset(msg: EmailMessage) -> str | None:
    """Clients that put raw 8-bit bytes in headers use the body's charset."""
    try:
        for part in msg.walk():
            charset = part.get_content_charset()
            if charset:
                return charset
    except Exception:
        return None
    return None


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _addresses(value: str) -> str:
    return ", ".join(addr for _, addr in header_mailboxes(value))


def _date(value: str, defects: list[str] | None = None) -> datetime | None:
    """The header date in UTC when it is a plausible moment, else None (a defect).

    Stored as UTC so no zone offset ever reaches the database.
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        if defects is not None:
            defects.append("UnparsableDate")
        return None
    return plausible_moment(parsed, defects)


def plausible_moment(
    value: datetime | None, defects: list[str] | None = None
) -> datetime | None:
    """`value` in UTC if its zone offset and year are plausible, else None."""
    if value is None:
        return None
    try:
        offset = value.utcoffset() or timedelta(0)
        if abs(offset) > MAX_ZONE_OFFSET:
            raise ValueError(f"zone offset {offset}")
        moment = value.replace(tzinfo=UTC) - offset
        if not EARLIEST_DATE <= moment < LATEST_DATE:
            raise ValueError(f"outside {EARLIEST_DATE.year}-{LATEST_DATE.year}")
    except (ValueError, OverflowError) as exc:
        logger.info("Implausible date %r dropped: %s", value, exc)
        if defects is not None:
            defects.append("ImplausibleDate")
        return None
    return moment


def _codecs_for(charset: str | None) -> tuple[str, ...]:
    if not charset:
        return ()
    label = charset.strip().strip("\"'").lower()[:40]
    if not label or label in UNKNOWN_CHARSETS:
        return ()
    names = CHARSET_ALIASES.get(label, (label,))
    usable = []
    for name in names:
        try:
            info = codecs.lookup(name)
        except (LookupError, ValueError):  # ValueError: a NUL in the label
            continue
        refused = info.name.replace("-", "_") in REFUSED_CODECS
        if getattr(info, "_is_text_encoding", True) and not refused:
            usable.append(info.name)
    return tuple(usable)


def decode_text(payload: bytes, charset: str | None) -> str:
    """Decode text whose declared charset may be wrong, unknown or missing.

    7-bit data: the declared charset (ISO-2022-JP and UTF-7 are 7-bit). 8-bit data:
    UTF-8 first, also when nearly all of it is valid, because legacy-charset text is
    practically never valid UTF-8 while clients often mislabel UTF-8; then the
    declared charset; then windows-1252 and latin-1, which never fail.
    """
    declared = _codecs_for(charset)
    if payload.isascii():
        for name in declared:
            try:
                return payload.decode(name)
            except (LookupError, UnicodeDecodeError, ValueError):
                continue
        return payload.decode("ascii")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    as_utf8 = payload.decode("utf-8", "replace")
    bad = as_utf8.count("\ufffd")
    non_ascii = len(as_utf8) - len(as_utf8.encode("ascii", "ignore"))
    if non_ascii - bad >= 4 * bad:
        return as_utf8  # UTF-8 with a few stray bytes (mixed or cut mail)
    for name in declared:
        try:
            return payload.decode(name)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    if declared and declared[0] not in _UTF8_FAMILY:
        # A real legacy charset with a few bad bytes: its own decoding with
        # replacement beats a windows-1252 guess.
        try:
            return payload.decode(declared[0], "replace")
        except (LookupError, ValueError):
            pass
    try:
        return payload.decode("cp1252")
    except UnicodeDecodeError:
        return payload.decode("latin-1")  # total: every byte maps


def _part_charset(part: EmailMessage) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def _part_text(part: EmailMessage, defects: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"BadBody:{type(exc).__name__}")
        payload = None
    if payload is None:
        # Only multiparts have no decoded payload; their text lives in subparts.
        return ""
    if isinstance(payload, str):  # pragma: no cover - defensive
        return payload
    return decode_text(payload, _part_charset(part))


def sanitize_html(html: str) -> str:
    """HTML safe to show agents: nh3's allow-list, fewer URL schemes, no referrer."""
    try:
        return nh3.clean(
            html,
            url_schemes={"http", "https", "mailto", "cid"},
            link_rel="noopener noreferrer nofollow",
            clean_content_tags={"script", "style", "title"},
            strip_comments=True,
        )
    except Exception:  # nh3 is total on str input; belt and braces
        return ""


def html_to_text(html: str, defects: list[str] | None = None) -> str:
    if len(html) > HTML_TO_TEXT_MAX_CHARS:
        html = html[:HTML_TO_TEXT_MAX_CHARS]
        if defects is not None:
            defects.append("HtmlTextTruncated")
    try:
        return get_text(html).strip()
    except Exception:
        # lxml refuses some documents; drop every tag instead.
        return nh3.clean(html, tags=set()).strip()


def _bodies(msg: EmailMessage, defects: list[str], depth: int = 0) -> tuple[str, str]:
    try:
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
    except Exception as exc:
        defects.append(f"BadStructure:{type(exc).__name__}")
        plain = html = None
    html_body = ""
    if html is not None:
        html_body = sanitize_html(clean_text(_part_text(html, defects)))
    if plain is not None:
        text_body = _part_text(plain, defects)
    elif html is not None:
        # HTML-only mail: the models read text, agents see the sanitised HTML.
        text_body = html_to_text(html_body, defects)
    elif msg.get_content_type() == "message/rfc822" and msg.is_multipart():
        # The whole mail is a forwarded message: read the enclosed one.
        inner = msg.get_payload(0)
        text_body, html_body = (
            _bodies(inner, defects, depth + 1) if depth < 3 else ("", "")
        )
    elif msg.is_multipart():
        text_body = ""
    elif msg.get_content_maintype() == "multipart":
        # Declared multipart but no delimiter found: show the body as it came,
        # ignoring a transfer encoding no multipart may have.
        text_body = decode_text(_undelimited_payload(msg), _part_charset(msg))
    elif msg.get_content_maintype() == "text":
        # A single text part of another subtype (text/enriched, text/x-...).
        text_body = _part_text(msg, defects)
    else:
        text_body = ""  # the whole mail is one file: it is an attachment
    return text_body.replace("\r\n", "\n"), html_body


def _undelimited_payload(msg: EmailMessage) -> bytes:
    """The body of a multipart without delimiters, decoded only when that works."""
    # get_payload() would turn 8-bit bytes into U+FFFD; the stored payload keeps
    # them as surrogate escapes.
    raw = msg._payload
    if not isinstance(raw, str):  # pragma: no cover - defensive
        return b""
    encoded = raw.encode("utf-8", "surrogateescape")
    before = len(msg.defects)
    try:
        decoded = msg.get_payload(decode=True)
    except Exception:
        return encoded
    if not isinstance(decoded, bytes) or len(msg.defects) > before:
        # No multipart may carry a transfer encoding; base64 that does not decode
        # cleanly is plain text mislabelled, shown as it came.
        return encoded
    return decoded


def _attachments(msg: EmailMessage, defects: list[str]) -> list[ParsedAttachment]:
    found: list[ParsedAttachment] = []
    try:
        if msg.is_multipart():
            _collect_attachments(msg, found, defects, depth=0)
        elif msg.get_content_maintype() not in ("text", "multipart"):
            # The whole message is one file (a fax gateway's PDF, a bare image).
            found.append(_leaf(msg, defects))
    except Exception as exc:
        defects.append(f"BadAttachments:{type(exc).__name__}")
    return found


def _collect_attachments(
    part: EmailMessage, found: list[ParsedAttachment], defects: list[str], depth: int
) -> None:
    for sub in part.iter_attachments():
        ctype = sub.get_content_type()
        if ctype == "message/rfc822":
            found.append(_enclosed_message(sub, defects))
        elif sub.is_multipart():
            # A nested multipart/mixed still carries files; its own text is
            # reachable through the raw message.
            if depth >= MAX_ATTACHMENT_DEPTH:
                defects.append("AttachmentsTooDeep")
                continue
            _collect_attachments(sub, found, defects, depth + 1)
        else:
            found.append(_leaf(sub, defects))


def _leaf(part: EmailMessage, defects: list[str]) -> ParsedAttachment:
    try:
        payload = part.get_payload(decode=True) or b""
    except Exception as exc:
        defects.append(f"BadAttachment:{type(exc).__name__}")
        payload = b""
    if isinstance(payload, str):  # pragma: no cover - defensive
        payload = payload.encode("utf-8", "surrogateescape")
    return ParsedAttachment(
        filename=_filename(part),
        content_type=part.get_content_type()[:255],
        payload=payload,
    )


def _enclosed_message(part: EmailMessage, defects: list[str]) -> ParsedAttachment:
    try:
        inner = part.get_payload(0)
        payload = inner.as_bytes(policy=inner.policy.clone(max_line_length=0))
    except Exception as exc:
        defects.append(f"BadEnclosedMessage:{type(exc).__name__}")
        payload = b""
    return ParsedAttachment(
        filename=_filename(part) or "forwarded-message.eml",
        content_type="message/rfc822",
        payload=payload,
    )


def _filename(part: EmailMessage) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    return clean_text(_one_line(name))[:255]


# --- Archives -----------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveLimits:
    max_uncompressed: int
    max_ratio: float
    max_members: int


def archive_risk(payload: bytes, limits: ArchiveLimits) -> str:
    """Why this attachment is a decompression risk, or '' when it is none.

    Only the sizes an archive declares are read (zip central directory, gzip
    trailer): nothing is ever decompressed, so a bomb costs nothing to inspect.
    """
    if payload[:2] == b"\x1f\x8b":
        return _gzip_risk(payload, limits)
    if payload[:2] == b"PK" or zipfile.is_zipfile(io.BytesIO(payload)):
        return _zip_risk(payload, limits)
    return ""


def _zip_risk(payload: bytes, limits: ArchiveLimits) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        if payload[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            return f"unreadable zip archive ({type(exc).__name__})"
        return ""
    if len(members) > limits.max_members:
        return f"zip with {len(members)} members (cap {limits.max_members})"
    declared = sum(m.file_size for m in members)
    compressed = max(sum(m.compress_size for m in members), 1)
    if declared > limits.max_uncompressed:
        return (
            f"zip declares {declared} bytes uncompressed "
            f"(cap {limits.max_uncompressed})"
        )
    ratio = declared / compressed
    if ratio > limits.max_ratio:
        return f"zip compression ratio {ratio:.0f}:1 (cap {limits.max_ratio:.0f}:1)"
    return ""


def _gzip_risk(payload: bytes, limits: ArchiveLimits) -> str:
    if len(payload) < 18:
        return "truncated gzip stream"
    # ISIZE: the uncompressed size mod 2**32 of the last member (RFC 1952 2.3.1).
    # A bomb past 4 GiB can wrap below the cap; the ratio check still catches most.
    (declared,) = struct.unpack("<I", payload[-4:])
    if declared > limits.max_uncompressed:
        return (
            f"gzip declares {declared} bytes uncompressed "
            f"(cap {limits.max_uncompressed})"
        )
    ratio = declared / len(payload)
    if ratio > limits.max_ratio:
        return f"gzip compression ratio {ratio:.0f}:1 (cap {limits.max_ratio:.0f}:1)"
    return ""
