"""Issue 15 item 3: attachments served by the app, safely, to agents only.

Real mail through the real ingest (files in a temporary media root), served
through the real URL by Django's test client.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.mail_files import (
    HTML_BYTES,
    PDF_BYTES,
    SVG_BYTES,
    make_eml_with_files,
    png_bytes,
)
from triage.attachments import content_disposition, filename_clean, inline_type
from triage.models import Attachment
from triage.services import email_ingest

pytestmark = pytest.mark.django_db

PNG = png_bytes()
BIG = b"x" * 5000


@pytest.fixture
def files(settings) -> dict[str, Attachment]:
    settings.TRIAGE_MODELS = {}
    settings.TRIAGE_ATTACHMENT_MAX_BYTES = 4096  # BIG is flagged, never stored
    raw = make_eml_with_files(
        [
            ("photo.png", "image/png", PNG),
            ("invoice.pdf", "application/pdf", PDF_BYTES),
            ("page.html", "text/html", HTML_BYTES),
            ("logo.svg", "image/svg+xml", SVG_BYTES),
            # Says PNG, is HTML: the bytes decide, so it is only a download.
            ("fake.png", "image/png", HTML_BYTES),
            ("huge.bin", "application/octet-stream", BIG),
        ],
        message_id="<files-1@example.com>",
    )
    message = email_ingest(raw, source="t").message
    return {a.filename: a for a in Attachment.objects.filter(message=message)}


def url(attachment: Attachment) -> str:
    return reverse("triage_attachment", args=[attachment.pk])


def body(response) -> bytes:
    return (
        b"".join(response.streaming_content) if response.streaming else response.content
    )


def assert_hardened(response) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "sandbox" in csp.split("; ")
    assert "default-src 'none'" in csp


@pytest.mark.parametrize(
    ("name", "content_type", "payload"),
    [("photo.png", "image/png", PNG), ("invoice.pdf", "application/pdf", PDF_BYTES)],
)
def test_images_and_pdfs_open_inline_with_the_safety_headers(
    client, agent, files, name, content_type, payload
):
    client.force_login(agent)
    response = client.get(url(files[name]))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith("inline; ")
    assert f"filename*=UTF-8''{name}" in response["Content-Disposition"]
    assert_hardened(response)
    assert body(response) == payload


@pytest.mark.parametrize("name", ["page.html", "logo.svg", "fake.png"])
def test_html_svg_and_mislabelled_files_are_downloads_never_inline(
    client, agent, files, name
):
    client.force_login(agent)
    response = client.get(url(files[name]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment; ")
    assert_hardened(response)
    assert body(response) in (HTML_BYTES, SVG_BYTES)


def test_anonymous_users_are_sent_to_the_login_not_the_file(client, files):
    response = client.get(url(files["photo.png"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert PNG not in body(response)


def test_users_outside_the_roles_are_refused(client, roles, files):
    no_group = UserFactory(username="visitor")  # staff, but no role
    client.force_login(no_group)
    assert client.get(url(files["photo.png"])).status_code == 403
    not_staff = UserFactory(username="ex", is_staff=False, groups=[roles["Agents"]])
    client.force_login(not_staff)
    assert client.get(url(files["photo.png"])).status_code == 403
    approver = UserFactory(username="approver", groups=[roles["Approvers"]])
    client.force_login(approver)
    assert client.get(url(files["photo.png"])).status_code == 200


def test_a_flagged_attachment_is_never_served(client, agent, files):
    flagged = files["huge.bin"]
    assert flagged.flagged and not flagged.file
    client.force_login(agent)
    response = client.get(url(flagged))
    assert response.status_code == 403
    assert "withheld" in response.content.decode()
    assert "larger than 4096 bytes" in response.content.decode()
    assert_hardened(response)
    # Flagged with a file still stored (flagged later by someone): still refused.
    stored = files["invoice.pdf"]
    Attachment.objects.filter(pk=stored.pk).update(flagged=True, flag_reason="virus")
    response = client.get(url(stored))
    assert response.status_code == 403
    assert PDF_BYTES not in response.content


def test_unknown_attachment_is_404_and_post_is_refused(client, agent, files):
    client.force_login(agent)
    assert client.get(reverse("triage_attachment", args=[99999])).status_code == 404
    assert client.post(url(files["photo.png"])).status_code == 405


def test_the_header_file_name_is_sanitised_rfc_6266():
    header = content_disposition(
        "attachment", '../../etc/"bad"\r\nX-Injected: 1\u202egnp.exe résumé.pdf'
    )
    assert "\r" not in header and "\n" not in header and "\u202e" not in header
    assert header.startswith('attachment; filename="')
    ascii_part = header.split('filename="', 1)[1].split('"', 1)[0]
    assert ascii_part.isascii() and "/" not in ascii_part and '"' not in ascii_part
    assert "filename*=UTF-8''" in header
    assert "r%C3%A9sum%C3%A9.pdf" in header
    assert "etc" not in header  # the path is dropped, only the last part is kept
    assert filename_clean("") == "attachment"
    assert filename_clean("." * 3) == "attachment"
    long = filename_clean("a" * 400 + ".pdf")
    assert len(long) <= 150 and long.endswith(".pdf")


def test_inline_needs_the_allow_list_and_matching_bytes():
    assert inline_type("image/png", PNG[:16]) == "image/png"
    assert inline_type("IMAGE/PNG; name=x", PNG[:16]) == "image/png"
    assert inline_type("image/png", HTML_BYTES[:16]) is None
    assert inline_type("image/svg+xml", SVG_BYTES[:16]) is None
    assert inline_type("text/html", HTML_BYTES[:16]) is None
    assert inline_type("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert inline_type("image/webp", b"RIFF\x00\x00\x00\x00WAVEfmt ") is None


def test_the_ticket_page_shows_thumbnails_links_and_withheld_files(
    client, agent, files
):
    client.force_login(agent)
    ticket = files["photo.png"].message.ticket
    page = client.get(reverse("admin:triage_ticket_change", args=[ticket.pk]))
    html = page.content.decode()
    assert f'<img class="tr-thumb" src="{url(files["photo.png"])}"' in html
    pdf = f'id="attachment-{files["invoice.pdf"].pk}" data-kind="inline"'
    assert pdf in html
    assert f'href="{url(files["invoice.pdf"])}" class="tr-attachment-open"' in html
    assert f'id="attachment-{files["page.html"].pk}" data-kind="download"' in html
    assert (
        f'href="{url(files["page.html"])}" class="tr-attachment-name" download' in html
    )
    assert "withheld: larger than 4096 bytes" in html
    assert url(files["huge.bin"]) not in html
