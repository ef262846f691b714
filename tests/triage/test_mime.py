from __future__ import annotations

import pytest

from tests.ci import needs
from tests.conftest import NO_SHARED_CORPUS, SAMPLES, SHARED_CORPUS
from triage.mime import (
    ArchiveLimits,
    archive_risk,
    decode_text,
    html_to_text,
    parse_email,
    sanitize_html,
)

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


# What each shipped sample is (samples/README.md), read off its headers and body.
# file -> (Message-ID, sender address, subject, a phrase of the text body)
SAMPLE_FACTS = {
    "01-bumblebee.eml": (
        "<20251103091422.bumblebee.0001@autobots.example.com>",
        "bumblebee@autobots.example.com",
        "Wrong action figure delivered",
        "sent an action figure of Megatron instead",
    ),
    "02-german-complaint.eml": (
        "<9f1c2a7e-kaffee-0002@mail.example.com>",
        "juergen.mueller@example.com",
        "Beschädigte Kaffeemaschine \N{EN DASH} bitte um Ersatz",
        "Sehr geehrte Damen und Herren",
    ),
    "03-french-complaint.eml": (
        "<CAF-3e8d41b0-retard-0003@mail.example.com>",
        "elodie.lefevre@example.com",
        "Livraison en retard \N{EN DASH} demande de remboursement",
        "J'ai passé commande le 20 octobre",
    ),
    "04-bumblebee-reply.eml": (
        "<20251106180540.bumblebee.0004@autobots.example.com>",
        "bumblebee@autobots.example.com",
        "Re: Wrong action figure delivered",
        "Hello again",
    ),
    "05-html-only.eml": (
        "<html-only.0005.5c7b1e@webmail.example.com>",
        "priya.raman@example.com",
        "Charged twice for invoice INV-2025-0815",
        "I have been charged twice for the same order",
    ),
    "06-attachment.eml": (
        "<attach-0006.4d2f@mail.example.com>",
        "tom.becker@example.com",
        "Lamp arrived broken - photo attached",
        "the desk lamp from order 104877 arrived",
    ),
    "07-malformed.eml": (
        "<malformed-0007.e1b2@broken.example.com>",
        None,  # an unbalanced From: whatever is salvaged, nothing is asserted
        None,
        "This header line has no colon at all",
    ),
    "08-prompt-injection.eml": (
        "<inj-0008.a93c@mail.example.com>",
        "sam.ortega@example.com",
        "Where is my order 105230?",
        "Ignore previous instructions",
    ),
    "09-polish-complaint.eml": (
        "<pl-czajnik-0009@mail.example.com>",
        "k.wisniewska@example.com",
        "Uszkodzony czajnik \u2013 prosz\u0119 o wymian\u0119",
        "czajnik elektryczny",
    ),
}


def test_every_shipped_sample_parses_to_what_it_is():
    found = sorted(path.name for path in SAMPLES.glob("*.eml"))
    # Every sample is described here (an empty or a renamed folder fails).
    assert found == sorted(SAMPLE_FACTS)
    for name, (message_id, address, subject, phrase) in SAMPLE_FACTS.items():
        parsed = parse_email((SAMPLES / name).read_bytes())
        assert parsed.message_id == message_id, name
        assert not parsed.message_id_synthetic, name
        if address is not None:
            assert parsed.from_address == address, name
            assert parsed.subject == subject, name
        assert phrase in parsed.text_body, name
        assert parsed.is_malformed == (name == "07-malformed.eml"), name
        assert len(parsed.raw_sha256) == 64, name


@needs(SHARED_CORPUS.exists(), NO_SHARED_CORPUS)
def test_shared_corpus_parses_without_exceptions():
    files = [p for p in (SHARED_CORPUS / "mime").rglob("*") if p.is_file()]
    assert files
    for path in files:
        parsed = parse_email(path.read_bytes())
        assert parsed.raw_sha256


# --- Charsets, headers, HTML, archives ----------------------------------------------


@pytest.mark.parametrize(
    ("payload", "charset", "expected"),
    [
        ("Grüße".encode(), "utf-8", "Grüße"),
        ("Grüße".encode(), "us-ascii", "Grüße"),  # mislabelled UTF-8
        ("“quoted” €".encode("cp1252"), "iso-8859-1", "“quoted” €"),  # WHATWG rule
        ("Grüße".encode("latin-1"), None, "Grüße"),
        ("Grüße".encode("latin-1"), "utf-8", "Grüße"),  # mislabelled latin-1
        ("镕".encode("gbk"), "gb2312", "镕"),  # GBK-only char under a gb2312 label
        ("退款".encode("gbk"), "iso-gb2312", "退款"),
        ("한국어".encode("cp949"), "ks_c_5601-1987", "한국어"),
        ("日本語".encode("iso2022_jp"), "ISO-2022-JP", "日本語"),
        ("日本語".encode("cp932"), "shift_jis", "日本語"),
        ("Hi +- there".encode("utf-7"), "unicode-1-1-utf-7", "Hi +- there"),
        (b"plain", "x-unknown", "plain"),
        (b"caf\xe9", "no-such-charset", "café"),
        (b"\\u0041", "unicode_escape", "\\u0041"),  # codec refused, bytes kept
        (b"abc", "rot13", "abc"),  # not a text encoding
        (b"\x81\x8d\x8f", None, "\x81\x8d\x8f"),  # cp1252 holes: latin-1 last
    ],
)
def test_decode_text_fallbacks(payload, charset, expected):
    assert decode_text(payload, charset) == expected


def test_raw_8bit_headers_are_decoded_with_fallbacks():
    raw = (
        b"From: J\xc3\xbcrgen <j@example.de>\r\nSubject: Stra\xdfe \x00kaputt\r\n"
        b"To: \xe4@example.de\r\n\r\nbody\r\n"
    )
    parsed = parse_email(raw)
    assert parsed.from_name == "Jürgen"
    assert parsed.from_address == "j@example.de"
    assert parsed.subject == "Straße kaputt"


def test_encoded_word_in_a_superset_charset_is_decoded():
    import base64

    word = base64.b64encode("镕退款".encode("gbk")).decode()
    parsed = parse_email(f"Subject: =?gb2312?B?{word}?=\r\n\r\nx".encode())
    assert parsed.subject == "镕退款"


def test_encoded_display_name_with_specials_keeps_the_address():
    import base64

    name = base64.b64encode("Müller, Jürgen [Einkauf]".encode("latin-1")).decode()
    raw = f"From: =?iso-8859-1?B?{name}?= <j@example.de>\r\n\r\nx".encode()
    parsed = parse_email(raw)
    assert parsed.from_address == "j@example.de"


def test_html_is_sanitised_for_display():
    html = sanitize_html(
        '<p onclick="x()">Hi</p><script>alert(1)</script><style>p{}</style>'
        '<a href="javascript:alert(1)">a</a><a href="https://example.com">b</a>'
        '<img src="cid:logo@x"><iframe src="https://evil"></iframe><!-- c -->'
    )
    assert "onclick" not in html and "<script" not in html and "alert" not in html
    assert "javascript:" not in html and "<iframe" not in html and "<!--" not in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert 'src="cid:logo@x"' in html


def test_html_to_text_survives_what_lxml_refuses():
    assert html_to_text("") == ""
    assert html_to_text("\x00") in {"", "\ufffd"}
    assert "x" in html_to_text("<?xml version='1.0' encoding='utf-8'?><p>x</p>")


def test_huge_html_is_converted_only_in_part():
    defects: list[str] = []
    text = html_to_text("<p>word</p>" * 100_000, defects)
    assert text.startswith("word") and "HtmlTextTruncated" in defects


def test_forwarded_mail_and_nested_files_are_attachments():
    raw = (
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
        b"Content-Type: text/plain\r\n\r\nsee attached\r\n--a\r\n"
        b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n"
        b"--a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nx\r\n--b\r\n"
        b"Content-Type: application/pdf\r\nContent-Disposition: attachment; "
        b"filename=deep.pdf\r\n\r\n%PDF\r\n--b--\r\n--a--\r\n"
    )
    parsed = parse_email(raw)
    names = {a.filename: a for a in parsed.attachments}
    assert b"inner body" in names["forwarded-message.eml"].payload
    assert names["deep.pdf"].payload == b"%PDF"
    assert parsed.text_body.strip() == "see attached"


def test_a_whole_mail_that_is_one_file_is_an_attachment():
    raw = b"Content-Type: application/pdf\r\n\r\n%PDF-1.3 binary\r\n"
    parsed = parse_email(raw)
    assert parsed.text_body == ""
    assert parsed.attachments[0].payload.startswith(b"%PDF")


def test_multipart_without_delimiters_shows_its_body():
    raw = (
        b"Content-Type: multipart/mixed; boundary=never\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n"
    )
    assert "Grüße" in parse_email(raw).text_body


LIMITS = ArchiveLimits(max_uncompressed=1_000_000, max_ratio=100, max_members=10)


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_archive_risk():
    import gzip

    assert archive_risk(b"not an archive", LIMITS) == ""
    assert archive_risk(_zip({"a.txt": b"hello world"}), LIMITS) == ""
    assert "ratio" in archive_risk(_zip({"z": bytes(500_000)}), LIMITS)
    assert "declares" in archive_risk(_zip({"r": random_bytes(1_100_000)}), LIMITS)
    assert "members" in archive_risk(_zip({str(i): b"x" for i in range(11)}), LIMITS)
    assert "unreadable" in archive_risk(b"PK\x03\x04broken", LIMITS)
    assert "gzip" in archive_risk(gzip.compress(bytes(500_000)), LIMITS)
    assert archive_risk(gzip.compress(b"small text"), LIMITS) == ""


def random_bytes(n: int) -> bytes:
    import random

    return random.Random(1).randbytes(n)
