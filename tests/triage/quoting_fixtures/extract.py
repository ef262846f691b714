"""Re-extract the quoting fixtures from the upstream test suites (not run by pytest).

Usage (with the upstream repositories checked out somewhere):

    python tests/triage/quoting_fixtures/extract.py talon /path/to/talon
    python tests/triage/quoting_fixtures/extract.py zapier /path/to/email-reply-parser

talon: its `tests/text_quotations_test.py` is executed with a stand-in
`talon.quotations.extract_from_plain` that records its input and an `eq_` that records
the expected value it is compared with, so every (message, expected reply) pair the
upstream suite asserts is captured exactly as written there, including its generated
ones (`test_standard_replies` over `tests/fixtures/standard_replies/*.eml`). Written by
hand because there is no other way to read assertions out of a nose test module.

zapier: its `test/test_email_reply_parser.py` is executed the same way with a stand-in
`EmailReplyParser.parse_reply`.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import types
import unittest.mock
from pathlib import Path

HERE = Path(__file__).parent


class _Call(str):
    """What the stand-in returns: remembers the text it was given."""


def _recorder(calls):
    def record(text, *args, **kwargs):
        if isinstance(text, bytes):
            text = text.decode("utf8")
        result = _Call(f"\0{len(calls)}")
        calls.append(text)
        return result

    return record


def _eq_factory(pairs, calls, test_name):
    def eq_(expected, actual, *_msg):
        for left, right in ((expected, actual), (actual, expected)):
            if isinstance(right, _Call) and isinstance(left, str):
                index = int(right[1:])
                pairs.append(
                    {"name": test_name(), "text": calls[index], "expected": left}
                )
                return

    return eq_


# Upstream tests whose assertion depends on talon's own configuration, not on the
# message: `test_too_many_lines` patches MAX_LINES_COUNT to 1 so that talon gives up.
SKIP = {"test_too_many_lines"}


def extract_talon(root: Path) -> list[dict]:
    calls: list[str] = []
    pairs: list[dict] = []
    current = {"name": ""}
    quotations = types.ModuleType("talon.quotations")
    quotations.extract_from_plain = _recorder(calls)
    quotations.MAX_LINES_COUNT = 1000
    talon = types.ModuleType("talon")
    talon.quotations = quotations
    talon.init = lambda: None
    nose_tools = types.ModuleType("nose.tools")
    nose_tools.eq_ = _eq_factory(pairs, calls, lambda: current["name"])
    nose_tools.ok_ = lambda *a, **k: None
    nose_tools.assert_false = lambda *a, **k: None
    nose_tools.assert_true = lambda *a, **k: None
    nose = types.ModuleType("nose")
    nose.tools = nose_tools
    sys.modules.update(
        {
            "talon": talon,
            "talon.quotations": quotations,
            "nose": nose,
            "nose.tools": nose_tools,
            "mock": unittest.mock,
        }
    )
    os.chdir(root)
    sys.path.insert(0, str(root))
    import tests.text_quotations_test as module

    for name, func in sorted(vars(module).items()):
        if not name.startswith("test_") or not callable(func) or name in SKIP:
            continue
        current["name"] = name
        try:
            result = func()
            if inspect.isgenerator(result):
                for item in result:
                    item[0](*item[1:])
        except Exception:
            continue
    return pairs


def extract_zapier(root: Path) -> list[dict]:
    calls: list[str] = []
    pairs: list[dict] = []
    current = {"name": ""}
    module_erp = types.ModuleType("email_reply_parser")

    class EmailReplyParser:
        parse_reply = staticmethod(_recorder(calls))

        @staticmethod
        def read(text):
            raise RuntimeError("fragment tests are not reply fixtures")

    module_erp.EmailReplyParser = EmailReplyParser
    module_erp.EmailMessage = EmailReplyParser
    sys.modules["email_reply_parser"] = module_erp
    os.chdir(root)
    sys.path.insert(0, str(root))
    import test.test_email_reply_parser as module

    eq = _eq_factory(pairs, calls, lambda: current["name"])
    for cls in vars(module).values():
        if not (isinstance(cls, type) and issubclass(cls, unittest.TestCase)):
            continue
        for name in sorted(dir(cls)):
            if not name.startswith("test_"):
                continue
            case = cls(name)
            case.assertEqual = eq
            case.assertEquals = eq
            current["name"] = name
            try:
                getattr(case, name)()
            except Exception:
                continue
    return pairs


if __name__ == "__main__":
    source, root = sys.argv[1], Path(sys.argv[2]).resolve()
    found = extract_talon(root) if source == "talon" else extract_zapier(root)
    out = HERE / f"{source}.json"
    out.write_text(json.dumps(found, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(found)} fixtures -> {out}")
