"""DESIGN §7 items 4 and 11: size caps before parsing, attachment and archive caps."""

from __future__ import annotations

import gzip
import io
import json
import struct
import zipfile
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.test import RequestFactory

from tests.factories import make_eml
from tests.triage.webhooks.conftest import (
    SENDGRID_URL_SECRET,
    basic_auth,
    fixture_json,
    mailgun_signed,
    multipart,
    raw_signature,
)
from triage.models import Attachment, Message
from triage.webhooks import views
from triage.webhooks.body import BodyTooLarge, read_body

pytestmark = pytest.mark.django_db

CAP = 4096


@pytest.fixture
def small_cap(settings):
    settings.TRIAGE_WEBHOOK_MAX_BYTES = CAP
    return CAP


@pytest.fixture
def no_parsing(monkeypatch):
    """Any parse of the body fails the test: a 413 must come before parsing."""

    def forbidden(*args, **kwargs):
        raise AssertionError("body parsed despite being over the cap")

    for name in ("parse_form", "postmark_mail", "mailgun_mail", "sendgrid_mail"):
        monkeypatch.setattr(views, name, forbidden)
    monkeypatch.setattr("triage.services.ingest.parse_email", forbidden)
    monkeypatch.setattr(views, "json", SimpleNamespace(loads=forbidden))


def big_eml(size: int) -> bytes:
    return make_eml(body="x" * size)


def test_raw_mime_over_the_cap_gets_413(client, small_cap, no_parsing):
    body = big_eml(CAP)
    response = client.generic(
        "POST",
        "/webhooks/mime/",
        body,
        content_type="message/rfc822",
        **raw_signature(body),
    )
    assert response.status_code == 413
    assert Message.objects.count() == 0


def test_postmark_over_the_cap_gets_413(client, small_cap, no_parsing):
    payload = fixture_json("postmark-inbound.json")
    payload["TextBody"] = "y" * CAP
    response = client.generic(
        "POST",
        "/webhooks/postmark/",
        json.dumps(payload).encode(),
        content_type="application/json",
        **basic_auth(),
    )
    assert response.status_code == 413
    assert Message.objects.count() == 0


@pytest.mark.parametrize("provider", ["mailgun", "sendgrid"])
def test_multipart_over_the_cap_gets_413(client, small_cap, no_parsing, provider):
    if provider == "mailgun":
        fields = mailgun_signed(fixture_json("mailgun-mime.fields.json"))
        path = "/webhooks/mailgun/mime"
    else:
        fields = fixture_json("sendgrid-raw.fields.json")
        path = f"/webhooks/sendgrid/{SENDGRID_URL_SECRET}/"
    body, content_type = multipart(
        fields, [("attachment-1", "a.bin", "x/y", b"z" * CAP)]
    )
    response = client.generic("POST", path, body, content_type=content_type)
    assert response.status_code == 413
    assert Message.objects.count() == 0


def test_just_under_the_cap_is_accepted(client, settings):
    body = big_eml(1000)
    settings.TRIAGE_WEBHOOK_MAX_BYTES = len(body)
    response = client.generic(
        "POST",
        "/webhooks/mime/",
        body,
        content_type="message/rfc822",
        **raw_signature(body),
    )
    assert response.status_code == 200


class ExplodingStream:
    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_declared_length_is_refused_without_reading_the_body(small_cap):
    environ = RequestFactory()._base_environ(
        PATH_INFO="/webhooks/mime/",
        REQUEST_METHOD="POST",
        CONTENT_TYPE="message/rfc822",
        CONTENT_LENGTH=str(CAP + 1),
        **{"wsgi.input": ExplodingStream()},
    )
    response = views.raw_mime(WSGIRequest(environ))
    assert response.status_code == 413


class StubRequest:
    """A server that hands over more than it declared (or declares nothing)."""

    def __init__(self, body: bytes, declared: str = "") -> None:
        self.META = {"CONTENT_LENGTH": declared}
        self._stream = io.BytesIO(body)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


def test_stream_read_is_capped_too():
    with pytest.raises(BodyTooLarge):
        read_body(StubRequest(b"a" * 101), limit=100)
    assert read_body(StubRequest(b"a" * 100), limit=100) == b"a" * 100
    assert read_body(StubRequest(b"abc", declared="bogus"), limit=100) == b"abc"


# --- Attachments and archives -------------------------------------------------------


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def ratio_bomb(megabytes: int = 20) -> bytes:
    """Zeros compress about 1000:1; written in chunks, never held whole."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as member,
    ):
        chunk = bytes(2**20)
        for _ in range(megabytes):
            member.write(chunk)
    return buffer.getvalue()


def forged_size_zip(declared: int = 0x7FFF0000) -> bytes:
    """A tiny zip whose central directory claims a 2 GiB member."""
    data = bytearray(zip_bytes({"invoice.pdf": b"%PDF-1.4 small"}))
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


def gzip_bomb() -> bytes:
    return gzip.compress(bytes(5 * 2**20))


def mail_with(attachments: dict[str, tuple[str, bytes]]) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Mallory <mallory@example.net>"
    msg["To"] = "support@example-shop.test"
    msg["Subject"] = "Please see the attached files"
    msg["Message-ID"] = "<bombs@example.net>"
    msg.set_content("Order 9001: the files explain everything.")
    for filename, (content_type, data) in attachments.items():
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def test_bombs_and_oversized_attachments_are_flagged_and_the_mail_stored(
    client, settings
):
    settings.TRIAGE_ATTACHMENT_MAX_BYTES = 200_000
    settings.TRIAGE_ARCHIVE_MAX_UNCOMPRESSED_BYTES = 50 * 2**20
    settings.TRIAGE_ARCHIVE_MAX_RATIO = 100
    # Built once: a zip carries its write time, which moves on between two builds.
    ok_zip = zip_bytes({"a.txt": b"receipt 9001"})
    body = mail_with(
        {
            "bomb.zip": ("application/zip", ratio_bomb()),
            "forged.zip": ("application/octet-stream", forged_size_zip()),
            "bomb.gz": ("application/gzip", gzip_bomb()),
            "huge.bin": ("application/octet-stream", b"\x01" * 300_000),
            "ok.zip": ("application/zip", ok_zip),
            "photo.png": ("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        }
    )
    response = client.generic(
        "POST",
        "/webhooks/mime/",
        body,
        content_type="message/rfc822",
        **raw_signature(body),
    )
    assert response.status_code == 200
    message = Message.objects.get()
    assert "files explain everything" in message.text_body
    found = {a.filename: a for a in Attachment.objects.filter(message=message)}
    assert set(found) == {
        "bomb.zip",
        "forged.zip",
        "bomb.gz",
        "huge.bin",
        "ok.zip",
        "photo.png",
    }
    assert "ratio" in found["bomb.zip"].flag_reason
    assert "declares" in found["forged.zip"].flag_reason
    assert "gzip" in found["bomb.gz"].flag_reason
    assert "larger than" in found["huge.bin"].flag_reason
    for name in ("bomb.zip", "forged.zip", "bomb.gz", "huge.bin"):
        attachment = found[name]
        assert attachment.flagged and not attachment.file  # nothing on disk
        assert attachment.size > 0 and len(attachment.sha256) == 64
    for name in ("ok.zip", "photo.png"):
        assert not found[name].flagged and found[name].file
    # Stored files are the attachments as sent, never an archive's contents.
    assert found["ok.zip"].file.read() == ok_zip


def test_attachment_count_cap_flags_the_rest(client, settings):
    settings.TRIAGE_ATTACHMENT_MAX_COUNT = 2
    body = mail_with({f"f{i}.txt": ("text/plain", b"file %d" % i) for i in range(4)})
    response = client.generic(
        "POST",
        "/webhooks/mime/",
        body,
        content_type="message/rfc822",
        **raw_signature(body),
    )
    assert response.status_code == 200
    attachments = list(Attachment.objects.order_by("pk"))
    assert [a.flagged for a in attachments] == [False, False, True, True]
    assert "cap of 2" in attachments[-1].flag_reason
