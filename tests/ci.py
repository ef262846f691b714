"""A green `CI=true` run means every test ran.

Locally a test whose prerequisite is missing (a service, a tool, ../shared) skips
and says why. Under ``CI=true`` the same condition is a failure naming what is
missing, and a check at the end of the session fails the run when any test was
skipped anyway (a plain ``pytest.skip`` someone added, a ``skipif`` marker), unless
the skip is on the allow-list below.

The allow-list (keep it short, and say in the README why each entry is there):

* ``cuda``: the CUDA variants of the device tests (marker ``@pytest.mark.cuda``)
  need a GPU. They skip only when ``torch.cuda.is_available()`` is False, so a CI
  host without a GPU passes with exactly those skipped, and on a GPU host they run
  (and then a skip of them fails the run like any other).

Also loadable on its own (``pytest -p tests.ci``): tests/test_honest_suite.py runs
a small suite in a subprocess with only this plugin, to check the check.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import pytest

CI_MARKERS = (
    "needs(ok, what): run only when ok; else skip, and under CI=true fail naming what",
    "cuda: a CUDA variant; skips without a GPU (the one allow-listed skip under CI)",
)


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def cuda_available() -> bool:
    import torch  # the test process has the worker extra; the web process never does

    return bool(torch.cuda.is_available())


@dataclass(frozen=True)
class Allowed:
    why: str
    applies: Callable[[], bool]  # the skip is legitimate only while this holds


# marker name -> when a test carrying it may skip under CI=true.
ALLOWED_SKIPS: dict[str, Allowed] = {
    "cuda": Allowed(
        why="CUDA variant on a host without a GPU", applies=lambda: not cuda_available()
    ),
}


def missing(what: str) -> NoReturn:
    """Skip because `what` is missing; under CI=true fail, naming it."""
    if in_ci():
        pytest.fail(f"CI=true but {what}", pytrace=False)
    pytest.skip(what)


def need(ok: object, what: str) -> None:
    """`missing(what)` unless `ok`: for fixtures and test bodies."""
    if not ok:
        missing(what)


def needs(ok: object, what: str) -> pytest.MarkDecorator:
    """`need` as a decorator (applied at setup, where a failure can be reported)."""
    return pytest.mark.needs(bool(ok), what)


# --- pytest hooks (imported by tests/conftest.py) ------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    for line in CI_MARKERS:
        config.addinivalue_line("markers", line)
    LEDGER.skips.clear()


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        ok, what = mark.args
        need(ok, what)
    if item.get_closest_marker("cuda") is not None and not cuda_available():
        pytest.skip("no CUDA device: a CUDA variant (allow-listed under CI)")


@dataclass
class Skip:
    nodeid: str
    reason: str
    allowed_by: str | None


class Ledger:
    def __init__(self) -> None:
        self.skips: list[Skip] = []

    def record(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        allowed_by = None
        if in_ci():  # locally nothing is checked (and torch need not be imported)
            for name, allowed in ALLOWED_SKIPS.items():
                if name in report.keywords and allowed.applies():
                    allowed_by = name
        self.skips.append(Skip(report.nodeid, _reason(report), allowed_by))

    @property
    def unexpected(self) -> list[Skip]:
        return [s for s in self.skips if s.allowed_by is None]


# One session per process: the skips seen in it.
LEDGER = Ledger()


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    if getattr(report, "wasxfail", None) is not None:
        return f"xfail: {report.wasxfail}"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        LEDGER.record(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:  # a module skipped as a whole
        LEDGER.record(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if in_ci() and LEDGER.unexpected:
        # The end-of-run assertion: under CI the skipped tests must number zero,
        # the allow-listed ones aside.
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config) -> None:
    if not in_ci():
        return
    allowed = [s for s in LEDGER.skips if s.allowed_by is not None]
    unexpected = LEDGER.unexpected
    write = terminalreporter.write_line
    terminalreporter.section("CI=true: skipped tests", sep="-")
    for skip in allowed:
        why = ALLOWED_SKIPS[skip.allowed_by].why
        write(f"allowed ({skip.allowed_by}: {why}): {skip.nodeid}")
    if unexpected:
        write(
            f"FAILED: {len(unexpected)} test(s) skipped under CI=true, "
            "not on the allow-list (tests/ci.py):",
            red=True,
            bold=True,
        )
        for skip in unexpected:
            write(f"  {skip.nodeid}: {skip.reason}", red=True)
    else:
        write(f"0 skipped outside the allow-list ({len(allowed)} allow-listed)")


# --- What is missing, in the words a failing CI run prints --------------------------

NO_POSTGRES = "DATABASE_URL is not PostgreSQL (this test needs a server database)"
NO_REDIS = "CELERY_BROKER_URL is not Redis (this test publishes for real)"
NO_SERVICES = "DATABASE_URL is not PostgreSQL or CELERY_BROKER_URL is not Redis"
