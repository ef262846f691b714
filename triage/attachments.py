"""How an attachment may be shown: the inline allow-list, file names, headers.

Pure functions shared by the serving view, the upload service and the ticket
page. The sender chose the file name, the declared type and the bytes, so none
of them is trusted: a file opens in the browser only when its declared type is
on the allow-list *and* its first bytes are that format; everything else is a
download of `application/octet-stream`.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# Never SVG or HTML (both run script in the app's origin); PDF and raster
# images render in the browser's own viewers.
INLINE_TYPES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),  # plus b"WEBP" at offset 8, checked below
    "application/pdf": (b"%PDF-",),
}
IMAGE_TYPES = frozenset(t for t in INLINE_TYPES if t.startswith("image/"))
SNIFF_BYTES = 16
DOWNLOAD_TYPE = "application/octet-stream"
# The header served with every attachment: no script, no plugin, no fetch, no
# form, and a unique origin should a browser render it anyway.
ATTACHMENT_CSP = "default-src 'none'; sandbox"
FILENAME_MAX_CHARS = 150
CONTENT_TYPE_RE = re.compile(
    r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$"
)


def content_type_clean(value: str) -> str:
    """`type/subtype` in lower case without parameters, or the download type."""
    base = (value or "").split(";", 1)[0].strip().lower()
    return base if CONTENT_TYPE_RE.match(base) else DOWNLOAD_TYPE


def declared_inline(content_type: str) -> bool:
    """Whether the declared type is one the page may show as a thumbnail or open."""
    return content_type_clean(content_type) in INLINE_TYPES


def declared_image(content_type: str) -> bool:
    return content_type_clean(content_type) in IMAGE_TYPES


def inline_type(content_type: str, head: bytes) -> str | None:
    """The type to serve inline, or None: allow-listed *and* the bytes agree."""
    declared = content_type_clean(content_type)
    magics = INLINE_TYPES.get(declared)
    if not magics or not head.startswith(magics):
        return None
    if declared == "image/webp" and head[8:12] != b"WEBP":
        return None
    return declared


def filename_clean(name: str, fallback: str = "attachment") -> str:
    """A file name safe in a header, a MIME part and a download dialog.

    No path, no control or format characters (bidi overrides make "exe.pdf"
    out of "fdp.exe"), no leading dots; at most FILENAME_MAX_CHARS characters
    with the extension kept.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in name
    )
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if len(name) > FILENAME_MAX_CHARS:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot and stem else ""
        keep = FILENAME_MAX_CHARS - len(ext) - (1 if ext else 0)
        name = f"{(stem or name)[:keep]}.{ext}" if ext else name[:FILENAME_MAX_CHARS]
    return name or fallback


def content_disposition(disposition: str, filename: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients and UTF-8 `filename*`."""
    name = filename_clean(filename)
    ascii_name = (
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    )
    ascii_name = re.sub(r'["\\%;]', "_", ascii_name).strip() or "attachment"
    return (
        f'{disposition}; filename="{ascii_name}"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )
