"""Other projects' reply-parsing fixtures scored against `triage.quoting` (README)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    expected: str | None  # talon: the exact reply its suite asserts
    keep: tuple[str, ...] = ()  # email_reply_parser: what the reply must hold
    drop: tuple[str, ...] = ()  # ... and what it must not


@dataclass(frozen=True)
class Score:
    right: bool
    lost: bool  # the customer's own text (above the quote) was cut away
    prefix: bool


def cases() -> list[Case]:
    found = []
    for index, item in enumerate(json.loads((HERE / "talon.json").read_text())):
        found.append(
            Case(f"talon/{index}-{item['name']}", item["text"], item["expected"])
        )
    for item in json.loads((HERE / "email_reply_parser.json").read_text()):
        path = HERE / "email_reply_parser" / item["file"]
        text = path.read_bytes().decode("utf-8")
        found.append(
            Case(
                f"erp/{item['file']}",
                text,
                None,
                tuple(item["keep"]),
                tuple(item["drop"]),
            )
        )
    return found


def score(case: Case, result: str) -> Score:
    prefix = case.text.startswith(result)
    if case.expected is None:
        lost = any(phrase not in result for phrase in case.keep)
        right = not lost and not any(phrase in result for phrase in case.drop)
        return Score(right, lost, prefix)
    expected = case.expected.strip()
    right = result.strip() == expected
    # The part of the expected reply that is a prefix of the message is what a
    # prefix cutter can and must keep; talon also re-joins text found below a
    # quote, which a prefix cannot do (counted as not right, not as lost).
    head = os.path.commonprefix([expected, case.text.lstrip()]).rstrip()  # noqa: RUF071
    lost = not result.lstrip().startswith(head)
    return Score(right, lost, prefix)
