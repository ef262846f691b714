"""Read a request body under a cap, and parse provider forms from those bytes.

Why not `request.POST`/`request.FILES`: Django caps the *non-file* fields of a
form at DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default) and answers 400 above it,
while FILE_UPLOAD_MAX_MEMORY_SIZE is no cap at all, only the size above which an
uploaded file spools to a temp file. Mailgun's `body-mime` and SendGrid's raw
`email` are plain (non-file) fields holding the whole message, attachments
included, so a 3 MB mail would be refused -- and SendGrid does not retry a 4xx,
the mail would be lost. Raising the setting globally would loosen every other form
(the admin login among them). So the webhook views cap the whole body themselves
(TRIAGE_WEBHOOK_MAX_BYTES: Content-Length first, then a bounded read) and parse
the bytes they hold with the stdlib `email` parser, which knows multipart.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from django.http import HttpRequest

MAX_FORM_PARTS = 1000


class BodyTooLarge(Exception):
    pass


class BadForm(ValueError):
    pass


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The raw body, at most `limit` bytes; BodyTooLarge before reading anything
    when Content-Length already says more."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
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


def parse_form(content_type: str, body: bytes) -> Form:
    """multipart/form-data or application/x-www-form-urlencoded, values as bytes."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        return _multipart(content_type, body)
    if media_type == "application/x-www-form-urlencoded":
        return _urlencoded(body)
    raise BadForm(f"unexpected content type {media_type!r}")


def _urlencoded(body: bytes) -> Form:
    parts = []
    for pair in body.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        parts.append(
            FormPart(
                name=urllib.parse.unquote_to_bytes(name.replace(b"+", b" ")).decode(
                    "utf-8", "replace"
                ),
                data=urllib.parse.unquote_to_bytes(value.replace(b"+", b" ")),
            )
        )
        if len(parts) > MAX_FORM_PARTS:
            raise BadForm("too many fields")
    return Form(parts)


def _multipart(content_type: str, body: bytes) -> Form:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n"
    try:
        envelope = BytesParser(policy=policy.HTTP).parsebytes(
            head.encode("latin-1") + body
        )
    except Exception as exc:  # pragma: no cover - the parser is lenient
        raise BadForm(str(exc)) from exc
    if not envelope.is_multipart():
        raise BadForm("no multipart boundary found")
    parts = []
    for part in envelope.iter_parts():
        if len(parts) >= MAX_FORM_PARTS:
            raise BadForm("too many parts")
        params = _disposition_params(part)
        name = params.get("name")
        if not name:
            continue
        filename = params.get("filename")
        data = part.get_payload(decode=True)
        parts.append(
            FormPart(
                name=name,
                data=data if isinstance(data, bytes) else b"",
                filename=None if filename is None else filename[:255],
                content_type=part.get_content_type(),
                charset=part.get_content_charset(),
            )
        )
    return Form(parts)


def _disposition_params(part: EmailMessage) -> dict[str, str]:
    try:
        header = part["Content-Disposition"]
        return dict(header.params) if header is not None else {}
    except Exception:
        return {}
