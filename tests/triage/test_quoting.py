from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLES
from triage.mime import parse_email
from triage.quoting import strip_quoted

REPLY = "Thanks, it is still broken. Please refund order 4711."

CASES = {
    "gmail": (
        f"{REPLY}\n\nOn Mon, Nov 3, 2025 at 9:14 AM Support <support@shop.test> "
        "wrote:\n> Did you try restarting it?\n> Best, Support\n"
    ),
    "gmail wrapped attribution": (
        f"{REPLY}\n\nOn Mon, Nov 3, 2025 at 9:14 AM Example Shop Customer Support "
        "Team <support@shop.test>\nwrote:\n\n> Did you try restarting it?\n"
    ),
    "apple mail": (
        f"{REPLY}\n\n> On 3 Nov 2025, at 09:14, Support <support@shop.test> wrote:\n"
        ">\n> Did you try?\n"
    ),
    "outlook original message": (
        f"{REPLY}\n\n-----Original Message-----\nFrom: Support <s@shop.test>\n"
        "Sent: Monday, November 3, 2025 9:14 AM\nTo: Ada\nSubject: RE: order\n\nHi\n"
    ),
    "outlook header block": (
        f"{REPLY}\n\nFrom: Support <s@shop.test>\nSent: Monday, November 3, 2025 "
        "9:14 AM\nTo: Ada <ada@example.com>\nSubject: RE: order\n\nHello Ada,\n"
    ),
    "outlook rule and bold labels": (
        f"{REPLY}\n\n________________________________\n*From:* Support <s@shop.test>\n"
        "*Sent:* Monday, November 3, 2025 9:14 AM\n*To:* Ada\n\nHello Ada,\n"
    ),
    "german attribution": (
        f"{REPLY}\n\nAm 03.11.2025 um 09:14 schrieb Support <s@shop.test>:\n> Hallo\n"
    ),
    "german gmail attribution": (
        f"{REPLY}\n\nAm Mo., 3. Nov. 2025 um 09:14 Uhr schrieb Support "
        "<s@shop.test>:\n\n> Hallo\n"
    ),
    "german outlook": (
        f"{REPLY}\n\nVon: Support <s@shop.test>\nGesendet: Montag, 3. November 2025 "
        "09:14\nAn: Ada\nBetreff: AW: Bestellung\n\nHallo\n"
    ),
    "german original message": (
        f"{REPLY}\n\n----- Ursprüngliche Nachricht -----\nVon: Support\n\nHallo\n"
    ),
    "french attribution": (
        f"{REPLY}\n\nLe lun. 3 nov. 2025 à 09:14, Support <s@shop.test> a écrit :\n"
        "> Bonjour\n"
    ),
    "french outlook": (
        f"{REPLY}\n\nDe : Support <s@shop.test>\nEnvoyé : lundi 3 novembre 2025 09:14\n"
        "À : Ada\nObjet : RE: commande\n\nBonjour\n"
    ),
    "french original message": (
        f"{REPLY}\n\n-------- Message d'origine --------\nDe : Support\n\nBonjour\n"
    ),
    "bare quote block": f"{REPLY}\n\n> Did you try?\n> Yes.\n\n",
    "bare attribution": f"{REPLY}\n\nSupport <s@shop.test> wrote:\n> Did you try?\n",
    "crlf": f"{REPLY}\r\n\r\nOn Mon, Nov 3, 2025, Support wrote:\r\n> Hi\r\n",
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_quoted_history_is_cut(text):
    assert strip_quoted(text) == REPLY


@pytest.mark.parametrize(
    "text",
    [
        "Dear Amazon, last week I ordered.\n\nSincerely,\nBumblebee.\n",
        "> Did you restart?\nYes.\n> Which model?\nThe X200.\n",  # interleaved
        "On Monday I ordered a lamp, and it arrived broken.\n",
        "From: the shop's website I bought a lamp.\nIt broke.\n",
        "I wrote: please help!\nThe lamp is broken.\n",
        "-- \nSent from my phone\n",
    ],
)
def test_text_without_quoted_history_is_kept(text):
    assert strip_quoted(text) == text.rstrip()


def test_a_reply_that_only_quotes_is_kept_whole():
    text = "On Mon, Nov 3, 2025, Support wrote:\n> Your order shipped.\n"
    assert strip_quoted(text) == text.rstrip()


def test_interleaved_answers_survive_a_trailing_quote():
    text = "> Which model?\nThe X200.\n\nOn Mon, Support wrote:\n> Which model?\n"
    assert strip_quoted(text) == "> Which model?\nThe X200."


def test_forwarded_messages_are_kept():
    text = (
        "See below, the shop never answered.\n\n---------- Forwarded message "
        "---------\nFrom: Shop <s@shop.test>\nDate: Mon, 3 Nov 2025\nSubject: Order\n"
        "\nYour order 4711 is confirmed.\n"
    )
    assert "Your order 4711 is confirmed." in strip_quoted(text)


def test_reference_email_is_untouched(sample_bytes):
    # DESIGN §1 offsets (Amazon 5-11, Germany 90-97, Bumblebee 502-511) still hold.
    text = parse_email(sample_bytes("01-bumblebee.eml")).text_body
    stripped = strip_quoted(text)
    assert stripped == text.rstrip()
    assert stripped.strip()[502:511] == "Bumblebee"


def test_sample_reply_drops_the_quoted_original():
    text = parse_email((SAMPLES / "04-bumblebee-reply.eml").read_bytes()).text_body
    stripped = strip_quoted(text)
    assert len(stripped) < len(text)
    assert "Dear Amazon" not in stripped


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=60),
            st.sampled_from(
                [
                    "> quoted",
                    "On Mon, Support wrote:",
                    "From: x",
                    "Sent: y",
                    "-----Original Message-----",
                    "________________________________",
                    "",
                    "Am 1.1.2025 schrieb X:",
                    "Le 1 janv. 2025, X a écrit :",
                ]
            ),
        ),
        max_size=30,
    ).map("\n".join)
)
def test_result_is_always_a_prefix(text):
    # Offsets the models compute on the stripped text must point into the
    # stored text_body, which the dashboard highlights.
    result = strip_quoted(text)
    assert text.startswith(result)
    assert result == result.rstrip()
    if text.strip():
        assert result.strip()
