"""bench/first_mail.py: each mail it sends is a new message, not a duplicate."""

from __future__ import annotations

from email import message_from_bytes, policy

from bench.first_mail import SAMPLE, mail


def test_each_mail_has_its_own_message_id_and_the_sample_body():
    a, b = mail("run1"), mail("run1")
    ids = [
        message_from_bytes(raw, policy=policy.default)["Message-ID"] for raw in (a, b)
    ]
    assert ids[0] != ids[1]
    assert all(i.startswith("<first-run1-") for i in ids)
    sample = message_from_bytes(SAMPLE.read_bytes(), policy=policy.default)
    parsed = message_from_bytes(a, policy=policy.default)
    assert parsed.get_body().get_content() == sample.get_body().get_content()
    assert parsed["Message-ID"] != sample["Message-ID"]
