"""Mail with attachments and small real files, for the attachment tests (issue 15)."""

from __future__ import annotations

import struct
import zlib
from email import message_from_bytes, policy
from email.message import EmailMessage

from tests.factories import make_eml


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A real, decodable RGB PNG (a browser renders it; the magic is genuine)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xcc\x22\x22" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML_BYTES = b"<html><body><script>alert(document.cookie)</script>hi</body></html>"
SVG_BYTES = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def make_eml_with_files(files: list[tuple[str, str, bytes]], **kwargs: str) -> bytes:
    """`make_eml(**kwargs)` plus one attachment part per (filename, type, bytes)."""
    msg = message_from_bytes(
        make_eml(**kwargs), _class=EmailMessage, policy=policy.default
    )
    assert isinstance(msg, EmailMessage)
    for filename, content_type, payload in files:
        maintype, subtype = content_type.split("/", 1)
        msg.add_attachment(
            payload, maintype=maintype, subtype=subtype, filename=filename
        )
    return msg.as_bytes()
