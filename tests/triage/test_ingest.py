from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from django.conf import settings as dj_settings
from django.db import connection, transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.ci import NO_POSTGRES, need, needs
from tests.conftest import NO_SHARED_CORPUS, SHARED_CORPUS
from tests.factories import make_eml
from triage.models import Attachment, AuditEvent, Message, Ticket
from triage.services import email_ingest

pytestmark = pytest.mark.django_db


def test_ingest_stores_ticket_message_and_raw(
    sample_bytes, django_capture_on_commit_callbacks
):
    raw = sample_bytes("01-bumblebee.eml")
    with django_capture_on_commit_callbacks() as callbacks:
        result = email_ingest(raw, source="file")
    assert result.created
    message = Message.objects.get()
    assert bytes(message.raw) == raw
    assert message.raw_size == len(raw) and not message.raw_truncated
    assert message.triage_status == Message.TriageStatus.RECEIVED
    ticket = message.ticket
    assert ticket.customer_email == "bumblebee@autobots.example.com"
    assert ticket.subject == "Wrong action figure delivered"
    assert len(callbacks) == 1  # exactly one triage enqueued, after commit
    assert AuditEvent.objects.filter(ticket=ticket, action="ticket_created").exists()


def test_same_message_twice_gives_one_row_and_one_task(
    sample_bytes, django_capture_on_commit_callbacks
):
    raw = sample_bytes("01-bumblebee.eml")
    with django_capture_on_commit_callbacks() as callbacks:
        first = email_ingest(raw, source="file")
        second = email_ingest(raw, source="file")
    assert first.created and not second.created
    assert second.message.pk == first.message.pk
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1
    assert len(callbacks) == 1


def test_reply_lands_in_the_same_ticket(sample_bytes):
    original = email_ingest(sample_bytes("01-bumblebee.eml"), source="file").message
    reply = email_ingest(sample_bytes("04-bumblebee-reply.eml"), source="file").message
    assert reply.ticket_id == original.ticket_id
    assert reply.in_reply_to == original.message_id
    assert Ticket.objects.count() == 1


def test_references_thread_when_in_reply_to_is_unknown():
    first = email_ingest(make_eml(message_id="<a1@example.com>"), source="t").message
    reply = email_ingest(
        make_eml(
            message_id="<a3@example.com>",
            in_reply_to="<never-stored@example.com>",
            references="<a1@example.com> <never-stored@example.com>",
        ),
        source="t",
    ).message
    assert reply.ticket_id == first.ticket_id


def test_subject_tag_threads_only_for_the_ticket_customer():
    first = email_ingest(make_eml(message_id="<b1@example.com>"), source="t").message
    tag = f"Re: [#{first.ticket_id}] Parcel missing"
    same = email_ingest(
        make_eml(message_id="<b2@example.com>", subject=tag), source="t"
    ).message
    stranger = email_ingest(
        make_eml(
            message_id="<b3@example.com>", subject=tag, sender="Eve <eve@example.net>"
        ),
        source="t",
    ).message
    assert same.ticket_id == first.ticket_id
    assert stranger.ticket_id != first.ticket_id


def test_attachments_stored_with_hash_and_caps(sample_bytes, settings):
    settings.TRIAGE_ATTACHMENT_MAX_BYTES = 200
    message = email_ingest(sample_bytes("06-attachment.eml"), source="file").message
    png = Attachment.objects.get(message=message, filename="broken-lamp.png")
    assert png.size == 100 and len(png.sha256) == 64 and not png.flagged
    assert png.file.read().startswith(b"\x89PNG")
    pdf = Attachment.objects.get(message=message, filename="order-receipt.pdf")
    assert pdf.flagged and "larger than" in pdf.flag_reason and not pdf.file


def test_raw_over_the_cap_is_truncated_and_flagged(settings):
    settings.TRIAGE_RAW_MAX_BYTES = 100
    raw = make_eml(body="x" * 500)
    message = email_ingest(raw, source="t").message
    assert message.raw_truncated and len(bytes(message.raw)) == 100
    assert message.raw_size == len(raw)
    assert message.text_body.strip() == "x" * 500


def test_malformed_mail_is_stored_raw_and_flagged(sample_bytes):
    raw = sample_bytes("07-malformed.eml")
    message = email_ingest(raw, source="file").message
    assert message.is_malformed and message.parse_defects
    assert bytes(message.raw) == raw


def test_exception_after_insert_publishes_no_task(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email_ingest(make_eml(), source="t")
        raise RuntimeError("boom after insert")
    assert callbacks == []
    assert Message.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_give_one_row_and_one_triage(tiny_settings):
    need(connection.vendor == "postgresql", NO_POSTGRES)
    raw = make_eml(message_id="<race@example.com>")
    barrier = threading.Barrier(4)
    results: list[bool] = []

    def worker():
        try:
            barrier.wait()
            results.append(email_ingest(raw, source="t").created)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    message = Message.objects.get(message_id="<race@example.com>")
    # Tasks run in-process here: one triage run means one attempt on the row.
    assert message.triage_attempts == 1
    assert message.triage_status == Message.TriageStatus.TRIAGED


# --- Provider ids, column limits, text PostgreSQL can store ------------------------


def test_missing_message_id_uses_the_provider_id():
    raw = make_eml(message_id=None)
    first = email_ingest(raw, source="postmark", provider_message_id="abc-123")
    again = email_ingest(raw + b"\n", source="postmark", provider_message_id="abc-123")
    assert first.message.message_id == "<postmark.abc-123@triage.invalid>"
    assert first.message.provider_message_id == "abc-123"
    assert first.created and not again.created


def test_provider_ids_that_are_no_token_are_hashed():
    url = "imap://support@mail.example.com/INBOX;UIDVALIDITY=7/;UID=42"
    message = email_ingest(
        make_eml(message_id=None), source="imap", provider_message_id=url
    ).message
    assert message.message_id.startswith("<imap.")
    assert message.message_id.endswith("@triage.invalid>")
    assert " " not in message.message_id and "/" not in message.message_id
    assert message.provider_message_id == url


def test_a_real_message_id_wins_over_the_provider_id():
    message = email_ingest(
        make_eml(message_id="<real@example.com>"),
        source="postmark",
        provider_message_id="abc",
    ).message
    assert message.message_id == "<real@example.com>"


def test_oversized_and_unstorable_values_are_fitted():
    long_id = "<" + "a" * 1200 + "@example.com>"
    raw = (
        f"From: {'N' * 400} <{'x' * 300}@example.com>\r\n"
        f"Subject: {'s' * 1500}\r\n"
        f"Message-ID: {long_id}\r\n"
        f"References: {' '.join(f'<r{i}@example.com>' for i in range(2000))}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode() + b"nul\x00byte and a bad \xff\xfe sequence\r\n"
    message = email_ingest(raw, source="t").message
    message.refresh_from_db()
    assert len(message.subject) == 998 and len(message.from_name) <= 255
    assert len(message.from_address) <= 320
    assert len(message.message_id) <= 998 and message.message_id.endswith(".invalid>")
    assert "\x00" not in message.text_body and "nulbyte" in message.text_body
    assert bytes(message.raw) == raw


def test_attachment_files_are_shared_by_content(sample_bytes):
    first = email_ingest(sample_bytes("06-attachment.eml"), source="file").message
    copy = sample_bytes("06-attachment.eml").replace(
        b"Message-ID: <", b"Message-ID: <x"
    )
    second = email_ingest(copy, source="file").message
    assert second.pk != first.pk
    a = Attachment.objects.get(message=first, filename="broken-lamp.png")
    b = Attachment.objects.get(message=second, filename="broken-lamp.png")
    assert a.file.name == b.file.name


# --- Threading and quoted text ----------------------------------------------------


def test_replies_thread_by_in_reply_to_of_our_own_outbound_mail():
    from tests.factories import MessageFactory

    outbound = MessageFactory(
        direction=Message.Direction.OUTBOUND,
        message_id="<reply-1212@example-shop.test>",
        ticket__customer_email="olga@example.com",
    )
    raw = (MIME_CORPUS / "outlook-reply.eml").read_bytes()
    reply = email_ingest(raw, source="file").message
    assert reply.ticket_id == outbound.ticket_id


def test_models_get_the_reply_without_its_quoted_history():
    from triage.services.triage import message_triage_claim

    raw = (MIME_CORPUS / "gmail-reply.eml").read_bytes()
    message = email_ingest(raw, source="file").message
    (job,) = message_triage_claim([message.pk])
    assert job.text == "Thanks, but the tracking link does not work. Can you check?"
    assert message.text_body.startswith(job.text)  # offsets stay valid
    assert "> Dear Greta" in Message.objects.get(pk=message.pk).text_body


# --- Awkward real-world mail -------------------------------------------------------

MIME_CORPUS = Path(__file__).parent / "mime_corpus"

# file -> what the stored message must show
CORPUS_EXPECTATIONS = {
    "8bit-headers.eml": {"subject": "Beschädigte Lieferung über DHL", "text": "1111"},
    "broken-base64.eml": {"text": "waiting for my refund for order 8008"},
    "charset-aliases.eml": {"subject": "退款申请", "text": "退款"},
    "french-reply.eml": {"text": "je n'ai toujours rien reçu"},
    "german-reply.eml": {"text": "Ich möchte mein Geld zurück"},
    "gmail-reply.eml": {"text": "tracking link does not work"},
    "html-only-hostile.eml": {"text": "wrong VAT number"},
    "iso-2022-jp.eml": {"subject": "商品が届きません", "text": "注文番号は9009"},
    "latin1-mislabelled-cp1252.eml": {"text": "39,90 € for the “premium” kettle"},
    "missing-message-id.eml": {"text": "left in the rain"},
    "nested-multipart.eml": {"text": "broken leg", "attachments": 2},
    "outlook-reply.eml": {"text": "refund me."},
    "truncated.eml": {"text": "scratched table", "attachments": 1},
    "windows-1252.eml": {
        "subject": "Kettle \u2013 not heating",
        "text": "Regards, Zoë",
    },
}


def test_corpus_table_covers_every_file():
    assert {p.name for p in MIME_CORPUS.glob("*.eml")} == set(CORPUS_EXPECTATIONS)


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTATIONS))
def test_awkward_mail_ingests(name):
    raw = (MIME_CORPUS / name).read_bytes()
    result = email_ingest(raw, source="file")
    assert result.created
    message = Message.objects.get(pk=result.message.pk)
    assert bytes(message.raw) == raw
    expected = CORPUS_EXPECTATIONS[name]
    if "subject" in expected:
        assert message.subject == expected["subject"]
    assert expected["text"] in message.text_body
    if "attachments" in expected:
        assert message.attachments.count() == expected["attachments"]
    assert "<script" not in message.html_body and "javascript:" not in message.html_body


def test_mail_without_message_id_dedupes_on_its_bytes():
    raw = (MIME_CORPUS / "missing-message-id.eml").read_bytes()
    first = email_ingest(raw, source="file")
    again = email_ingest(raw, source="file")
    assert first.message.message_id_synthetic
    assert not again.created and again.message.pk == first.message.pk


@needs(SHARED_CORPUS.exists(), NO_SHARED_CORPUS)
def test_shared_corpus_ingests():
    files = sorted(p for p in (SHARED_CORPUS / "mime").rglob("*") if p.is_file())
    assert files
    for path in files:
        raw = path.read_bytes()
        with transaction.atomic():
            result = email_ingest(raw, source="file")
            stored = Message.objects.get(pk=result.message.pk)
            assert stored.raw_sha256 == hashlib.sha256(raw).hexdigest(), path
            transaction.set_rollback(True)


# --- Fuzzing (DESIGN §7 item 10) ---------------------------------------------------

HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Date",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "MIME-Version",
        "X-Junk",
    ]
)
NASTY_VALUES = st.sampled_from(
    [
        "=?utf-8?B?!!!notbase64?=",
        "=?bogus-charset?Q?caf=E9?=",
        "=?iso-2022-jp?B?GyRCJDMbKEI=?=",
        "<a@b> <c@d>",
        "<<<>>>",
        ",,,@@",
        "multipart/mixed; boundary=zz",
        "multipart/alternative",
        "text/plain; charset=x-unknown",
        "text/html; charset=utf-7",
        "text/plain; charset*=utf-8''%E2%82%AC",
        "base64",
        "quoted-printable",
        "attachment; filename*0*=utf-8''%E2%82; filename*1=x",
        "Tue, 31 Nov 2025 25:61:61 +9999",
        "",
    ]
)
HEADER_VALUES = st.one_of(
    NASTY_VALUES,
    st.text(max_size=60).map(lambda s: s.replace("\r", "").replace("\n", "")),
    st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)
BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.tuples(
        st.text(max_size=100),
        st.sampled_from(["utf-8", "latin-1", "cp1252", "iso2022_jp", "gb18030"]),
    ).map(lambda t: t[0].encode(t[1], "replace")),
    st.sampled_from(
        [b"!!!*not base64*", b"=E9=\r\n=ZZ", b"\x00\xff\xfe", b"<p onclick=x>"]
    ),
)


def _line(name: str, value: str | bytes) -> bytes:
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return name.encode() + b": " + data + b"\r\n"


@st.composite
def parts(draw, depth: int = 0) -> bytes:
    headers = b"".join(
        _line(n, v)
        for n, v in draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=4))
    )
    if depth < 3 and draw(st.booleans()):
        boundary = draw(st.sampled_from(["zz", "b1", "=_x", "--dash", "same"]))
        kind = draw(st.sampled_from(["mixed", "alternative", "related", "digest"]))
        children = draw(st.lists(parts(depth + 1), max_size=3))
        body = b"".join(
            b"--" + boundary.encode() + b"\r\n" + c + b"\r\n" for c in children
        )
        if draw(st.booleans()):
            body += b"--" + boundary.encode() + b"--\r\n"
        content_type = _line("Content-Type", f"multipart/{kind}; boundary={boundary}")
        return headers + content_type + b"\r\n" + body
    return headers + b"\r\n" + draw(BODIES)


MESSAGES = st.one_of(
    st.binary(max_size=500),
    parts(),
    st.tuples(parts(), st.integers(min_value=0, max_value=400)).map(
        lambda t: t[0][: t[1]]
    ),
)


@hypothesis_settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=MESSAGES)
def test_fuzzed_mime_never_raises_and_keeps_the_raw(raw):
    with transaction.atomic():
        result = email_ingest(raw, source="fuzz")
        message = Message.objects.get(pk=result.message.pk)
        assert result.created
        assert bytes(message.raw) == raw[: dj_settings.TRIAGE_RAW_MAX_BYTES]
        assert message.raw_size == len(raw)
        assert message.raw_sha256 == hashlib.sha256(raw).hexdigest()
        assert "\x00" not in message.text_body
        transaction.set_rollback(True)
