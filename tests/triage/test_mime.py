from __future__ import annotations

import pytest

from tests.conftest import SAMPLES, SHARED_CORPUS
from triage.mime import parse_email

BUMBLEBEE_START = "Dear Amazon, last week I ordered an Optimus Prime action figure"


def test_bumblebee_body_keeps_the_reference_offsets(sample_bytes):
    parsed = parse_email(sample_bytes("01-bumblebee.eml"))
    text = parsed.text_body.strip()
    assert text.startswith(BUMBLEBEE_START)
    # Character offsets of DESIGN.md §1 hold on the stored text.
    assert text[5:11] == "Amazon"
    assert text[90:97] == "Germany"
    assert text[502:511] == "Bumblebee"
    assert parsed.from_address == "bumblebee@autobots.example.com"
    assert parsed.from_name == "Bumblebee"
    assert not parsed.is_malformed
    assert parsed.message_id.startswith("<") and not parsed.message_id_synthetic


def test_quoted_printable_and_base64_bodies_are_decoded(sample_bytes):
    german = parse_email(sample_bytes("02-german-complaint.eml"))
    french = parse_email(sample_bytes("03-french-complaint.eml"))
    assert any(ch in german.text_body for ch in "äöüß")
    assert "=C3" not in german.text_body
    assert any(ch in french.text_body for ch in "éèàç")


def test_html_only_mail_is_sanitised_and_converted_to_text(sample_bytes):
    parsed = parse_email(sample_bytes("05-html-only.eml"))
    assert "<script" not in parsed.html_body
    assert "onerror" not in parsed.html_body
    assert parsed.text_body
    assert "<" not in parsed.text_body.replace("<<", "")
    assert "alert(1)" not in parsed.text_body


def test_attachments_are_extracted(sample_bytes):
    parsed = parse_email(sample_bytes("06-attachment.eml"))
    names = {a.filename: a for a in parsed.attachments}
    assert names["broken-lamp.png"].payload.startswith(b"\x89PNG")
    assert names["broken-lamp.png"].content_type == "image/png"


def test_malformed_mail_is_flagged_not_raised(sample_bytes):
    parsed = parse_email(sample_bytes("07-malformed.eml"))
    assert parsed.is_malformed
    assert parsed.defects


def test_missing_message_id_gets_a_stable_synthetic_id():
    raw = b"From: a@example.com\r\nSubject: hi\r\n\r\nno id here\r\n"
    first, second = parse_email(raw), parse_email(raw)
    assert first.message_id_synthetic
    assert first.message_id == second.message_id
    assert first.message_id != parse_email(raw + b"x").message_id


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"Subject: =?unknown-8bit?q?caf=E9?=\r\n"
        b"Content-Type: text/plain; charset=x-nope\r\n\r\ncaf\xe9",
        b"From: <<<>>>\r\nTo: ,,,@@\r\nDate: yesterday\r\n\r\nbody",
        b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Transfer-"
        b"Encoding: base64\r\n\r\n!!!notbase64\r\n",
    ],
)
def test_hostile_input_never_raises(raw):
    parsed = parse_email(raw)
    assert isinstance(parsed.text_body, str)


def test_all_shipped_samples_parse():
    for path in sorted(SAMPLES.glob("*.eml")):
        parse_email(path.read_bytes())


@pytest.mark.skipif(not SHARED_CORPUS.exists(), reason="../shared/corpus not present")
def test_shared_corpus_parses_without_exceptions():
    files = [p for p in (SHARED_CORPUS / "mime").rglob("*") if p.is_file()]
    assert files
    for path in files:
        parsed = parse_email(path.read_bytes())
        assert parsed.raw_sha256
