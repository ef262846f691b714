"""Read a request body under a cap, and parse provider forms from those bytes.

Why not `request.POST`/`request.FILES`: Django caps the *non-file* fields of a
form at DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default) and answers 400 above it,
while FILE_UPLOAD_MAX_MEMORY_SIZE is no cap at all, only the size above which an
uploaded file spools to a temp file. Mailgun's `body-mime` and SendGrid's raw
`email` are plain (non-file) fields holding the whole message, attachments
included, so a 3 MB mail would be refused -- and SendGrid does not retry a 4xx,
the mail would be lost. Raising the setting globally would loosen every other form
(the admin login among them). So the webhook views cap the whole body themselves
(TRIAGE_WEBHOOK_MAX_BYTES: Content-Length first, then a bounded read, whatever the
framing) and parse the bytes they hold with `multipart`'s streaming parser, which
stops at the first part over the count cap: an unauthenticated body of 800k tiny
parts costs milliseconds, not the minutes a full parse took (issue 10).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import quopri
import urllib.parse
from collections.abc import Collection
from dataclasses import dataclass

import multipart
from django.http import HttpRequest

# Providers post a few dozen fields (Mailgun: ~20 plus one per attachment, the
# attachment count itself capped at TRIAGE_ATTACHMENT_MAX_COUNT + 50 rows).
MAX_FORM_PARTS = 1000
# Header block of one form part; 4 KiB is multipart's default, doubled for long
# filenames.
MAX_PART_HEADER_BYTES = 8192
READ_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    pass


class BadForm(ValueError):
    pass


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The raw body, at most `limit` bytes; BodyTooLarge before reading anything
    when Content-Length already says more.

    A chunked body (Transfer-Encoding: chunked, no Content-Length) is read too:
    Django reads a request without Content-Length as empty (its stream is limited
    to the declared length, 0), while gunicorn hands the WSGI app the de-chunked
    body in `wsgi.input` and ends it at the last chunk.
    """
    declared = request.META.get("CONTENT_LENGTH") or ""
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and not declared:
        return _read_capped(request.environ["wsgi.input"], limit)
    try:
        length = int(declared or "0")
    except ValueError:
        length = 0  # Django reads nothing for a bad length either
    if length > limit:
        raise BodyTooLarge(length)
    # Django's stream stops at Content-Length; the bound also covers a server
    # that hands over a body without one.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge(len(body))
    return body


def _read_capped(stream, limit: int) -> bytes:
    """Read a stream to its end in chunks; BodyTooLarge as soon as it passes `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(READ_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size)


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str = "text/plain"
    charset: str | None = None

    @property
    def is_file(self) -> bool:
        return self.filename is not None


@dataclass
class Form:
    parts: list[FormPart]

    def get(self, name: str) -> FormPart | None:
        return next((p for p in self.parts if p.name == name), None)

    def text(self, name: str, charset: str | None = None) -> str:
        from triage.mime import decode_text  # Django-free module, cheap import

        part = self.get(name)
        if part is None:
            return ""
        return decode_text(part.data, charset or part.charset or "utf-8")

    @property
    def files(self) -> list[FormPart]:
        return [p for p in self.parts if p.is_file]


def parse_form(
    content_type: str, body: bytes, *, only: Collection[str] | None = None
) -> Form:
    """multipart/form-data or application/x-www-form-urlencoded, values as bytes.

    At most MAX_FORM_PARTS parts are read (BadForm past it). With `only`, the
    other parts are scanned over but not kept: what a signature check needs
    before authentication, without copying the rest of the body.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        return _multipart(content_type, body, only)
    if media_type == "application/x-www-form-urlencoded":
        return _urlencoded(body, only)
    raise BadForm(f"unexpected content type {media_type!r}")


def _urlencoded(body: bytes, only: Collection[str] | None) -> Form:
    # Counted before anything is split: bytes.count runs at memory speed.
    if body.count(b"&") >= MAX_FORM_PARTS:
        raise BadForm("too many fields")
    parts = []
    for pair in body.split(b"&"):
        if not pair:
            continue
        raw_name, _, value = pair.partition(b"=")
        name = urllib.parse.unquote_to_bytes(raw_name.replace(b"+", b" ")).decode(
            "utf-8", "replace"
        )
        if only is not None and name not in only:
            continue
        parts.append(
            FormPart(
                name=name,
                data=urllib.parse.unquote_to_bytes(value.replace(b"+", b" ")),
            )
        )
    return Form(parts)


def _multipart(content_type: str, body: bytes, only: Collection[str] | None) -> Form:
    _, options = multipart.parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if not boundary:
        raise BadForm("no multipart boundary found")
    parts: list[FormPart] = []
    try:
        parser = multipart.PushMultipartParser(
            boundary,
            max_header_size=MAX_PART_HEADER_BYTES,
            max_segment_count=MAX_FORM_PARTS,
        )
        segment: multipart.MultipartSegment | None = None
        chunks: list[bytes] = []
        keep = False
        step = READ_CHUNK * 16
        for offset in range(0, len(body), step):
            for event in parser.parse(body[offset : offset + step]):
                if isinstance(event, multipart.MultipartSegment):
                    segment, chunks = event, []
                    keep = bool(event.name) and (only is None or event.name in only)
                elif event is None:
                    if segment is not None and keep:
                        parts.append(_form_part(segment, b"".join(chunks)))
                    segment = None
                elif keep:
                    chunks.append(bytes(event))
        # Lenient about a missing closing delimiter, as the stdlib parser was: a
        # truncated last part is dropped, the complete ones count.
        parser.close(check_complete=False)
    except multipart.ParserLimitReached as exc:
        raise BadForm(f"too many parts or oversized part headers ({exc})") from exc
    except multipart.MultipartError as exc:
        raise BadForm(str(exc)) from exc
    return Form(parts)


def _form_part(segment: multipart.MultipartSegment, data: bytes) -> FormPart:
    encoding = (segment.header("Content-Transfer-Encoding", "") or "").strip().lower()
    # RFC 7578 deprecates transfer encodings in forms; decode the two that exist.
    if encoding == "base64":
        with contextlib.suppress(binascii.Error, ValueError):
            data = base64.b64decode(data, validate=False)
    elif encoding == "quoted-printable":
        data = quopri.decodestring(data)
    return FormPart(
        name=segment.name or "",
        data=data,
        filename=None if segment.filename is None else segment.filename[:255],
        content_type=segment.content_type or "text/plain",
        charset=segment.charset,
    )
