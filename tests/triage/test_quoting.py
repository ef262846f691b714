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
    "gmail wrapped, no space before wrote": (
        f"{REPLY}\n\nOn Tue, Sep 25, 2012 at 8:59 AM, Support Team\n"
        "<support@shop.test>wrote:\n\n> Did you try?\n"
    ),
    "french outlook envoye le": (
        f"{REPLY}\n\nDe : Support <s@shop.test>\nEnvoyé le : lundi 3 novembre 2025 "
        "09:14\nÀ : Ada\nObjet : RE: commande\n\nBonjour\n"
    ),
    "date-first header": (
        f"{REPLY}\n\n2017-11-24 16:32 GMT+01:00 Support <support@shop.test>:\n\n> Hi\n"
    ),
    "date-first header wrapped": (
        f"{REPLY}\n\n2017-11-24 16:32 GMT+01:00 Support <\nsupport@shop.test>:\n\nHi\n"
    ),
    "date above from": (
        f"{REPLY}\nDate: Fri, 28 Sep 2012 10:55:48 +0000\nFrom: s@shop.test\n"
        "To: ada@example.com\nSubject: [Ticket #8]\n\nHi\n"
    ),
    "reply message separator": f"{REPLY}\n\n-----Reply Message-----\n\nHi\n",
    "portuguese": (
        f"{REPLY}\n\nEm seg., 3 de nov. de 2025 às 09:14, Suporte <s@shop.test> "
        "escreveu:\n\n> Olá\n"
    ),
    "polish": (
        f"{REPLY}\n\nW dniu 3.11.2025 o 09:14, Support <s@shop.test> pisze:\n> Hej\n"
    ),
    "polish gmail": (
        f"{REPLY}\n\npon., 3 lis 2025 o 09:14 Support <s@shop.test> napisał(a):\n\n"
        "> Dzień dobry\n"
    ),
    "finnish": (
        f"{REPLY}\n\nma 3. marrask. 2025 klo 9.14 Support (<s@shop.test>) kirjoitti:"
        "\n\n> Hei\n"
    ),
    "russian": (
        f"{REPLY}\n\nпн, 3 нояб. 2025 г. в 09:14, Support <s@shop.test>:\n\n> Привет\n"  # noqa: RUF001
    ),
    "russian written": (
        f"{REPLY}\n\n3 ноября 2025 г., в 9:14, Support <s@shop.test> написал(а):\n"  # noqa: RUF001
        "> Привет\n"
    ),
    "danish": (
        f"{REPLY}\n\nDen man. 3. nov. 2025 kl. 09.14 skrev Support <s@shop.test>:\n"
        "\n> Hej\n"
    ),
    "swedish": (
        f"{REPLY}\n\nDen 3 nov. 2025 kl. 09:14 skrev Support <s@shop.test>:\n\n> Hej\n"
    ),
    "norwegian": (
        f"{REPLY}\n\nPå 3. nov. 2025 kl. 09:14 skrev Support <s@shop.test>:\n> Hei\n"
    ),
    "japanese": (
        f"{REPLY}\n\n2025年11月3日(月) 9:14 Support <s@shop.test>:\n\n> こんにちは\n"
    ),
    "vietnamese": (
        f"{REPLY}\n\nVào Th 2, 3 thg 11, 2025 vào lúc 09:14 Support <s@shop.test> "
        "đã viết:\n\n> Xin chào\n"
    ),
    "one-line reply right above the attribution": (
        f"{REPLY}\nOn Tue, 2011-03-01 at 18:02 +0530, Support wrote:\n> Hi\n\nMore\n"
    ),
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
