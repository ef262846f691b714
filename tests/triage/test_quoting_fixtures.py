"""Other projects' reply-parsing fixtures (mailgun/talon, email_reply_parser) scored
against `triage.quoting`; see tests/triage/quoting_fixtures/README.md."""

from __future__ import annotations

import pytest

from tests.triage.quoting_fixtures import cases, score
from triage.quoting import strip_quoted

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_never_loses_reply_text_and_returns_a_prefix(case):
    result = strip_quoted(case.text)
    verdict = score(case, result)
    assert verdict.prefix
    assert not verdict.lost, result


def test_at_least_nine_in_ten_are_cut_right():
    wrong = [c.name for c in CASES if not score(c, strip_quoted(c.text)).right]
    right = len(CASES) - len(wrong)
    assert len(CASES) >= 80  # both sources were read
    assert right / len(CASES) >= 0.9, wrong


def test_the_misses_are_replies_written_below_the_quote():
    # A prefix cannot hold text written under the quoted history (talon re-joins
    # it); every miss must be such a case, never a cut in the wrong place.
    for case in CASES:
        result = strip_quoted(case.text)
        if score(case, result).right:
            continue
        assert case.expected is not None, case.name
        assert not case.text.lstrip().startswith(case.expected.strip()), case.name
