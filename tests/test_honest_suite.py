"""The suite's own rules: no timing asserts, and a green CI run means all tests ran."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.ci import ALLOWED_SKIPS
from tests.conftest import REPO, service_problems

TESTS = REPO / "tests"
CLOCKS = {"time", "monotonic", "perf_counter", "process_time", "monotonic_ns"}


def _is_clock_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCKS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "time"
    )


def timing_asserts(source: str) -> list[int]:
    """Lines of asserts that compare a clock reading or an elapsed time."""
    tree = ast.parse(source)
    # Names bound to a clock reading or to arithmetic on one (elapsed = now - t0).
    timed: set[str] = set()

    def reads_clock(value: ast.AST) -> bool:
        if isinstance(value, ast.BinOp):
            return reads_clock(value.left) or reads_clock(value.right)
        return _is_clock_call(value) or (
            isinstance(value, ast.Name) and value.id in timed
        )

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and reads_clock(node.value):
            timed |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assert):
            continue
        for sub in ast.walk(node.test):
            if _is_clock_call(sub) or (isinstance(sub, ast.Name) and sub.id in timed):
                lines.append(node.lineno)
                break
    return lines


def test_the_timing_check_finds_timing_asserts():
    assert timing_asserts("import time\nassert time.monotonic() - t0 < 5\n") == [2]
    elapsed = "t0 = time.perf_counter()\nrun()\nd = time.perf_counter() - t0\n"
    assert timing_asserts(elapsed + "assert d < 30\n") == [4]
    assert timing_asserts("deadline = time.monotonic() + 9\nassert x < deadline\n")
    assert timing_asserts("assert int(time.time()) - 290 > 0\n") == [1]
    assert timing_asserts("x = 1\nassert x < 30\n") == []
    signed = "fields = sign(at=int(time.time()))\nassert post(fields).ok\n"
    assert timing_asserts(signed) == []


def test_no_wall_clock_assertion_in_the_tests():
    # Speed targets live in bench/; a test asserts behaviour (waiting loops use
    # tests/waiting.py, whose timeout fails with what was seen, not a speed).
    found = {
        str(path.relative_to(REPO)): lines
        for path in sorted(TESTS.rglob("*.py"))
        if (lines := timing_asserts(path.read_text(encoding="utf-8")))
    }
    assert found == {}


# --- Under CI=true, skips fail ------------------------------------------------------

SUITE = """
import pytest
from tests.ci import missing, needs

def test_runs():
    assert True

def test_plain_skip():
    pytest.skip("someone skipped this")

@needs(False, "the frobnicator is absent")
def test_needs_what_is_missing():
    pass

def test_missing_in_a_body():
    missing("the widget server does not answer")

@pytest.mark.cuda
def test_cuda_variant():
    pass
"""


def run_suite(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """SUITE in a fresh pytest with only the tests/ci.py plugin loaded."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_suite.py").write_text(textwrap.dedent(SUITE))
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    plugins = ["-p", "tests.ci", "-p", "no:django", "-p", "no:cacheprovider"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, "-rA", *args, "test_suite.py"],
        cwd=tmp_path,
        env={**environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_locally_missing_things_skip_and_the_run_passes(tmp_path):
    done = run_suite(tmp_path)
    assert done.returncode == 0, done.stdout
    assert "1 passed" in done.stdout
    assert "the frobnicator is absent" in done.stdout
    assert "CI=true: skipped tests" not in done.stdout


def test_under_ci_a_skip_fails_the_run_and_names_what_is_missing(tmp_path):
    from tests.ci import cuda_available

    done = run_suite(tmp_path, CI="true")
    out = done.stdout
    assert done.returncode == 1, out
    # Conditions a test needs are failures naming what is missing ...
    assert "CI=true but the frobnicator is absent" in out
    assert "CI=true but the widget server does not answer" in out
    assert "ERROR test_suite.py::test_needs_what_is_missing" in out  # at setup
    assert "FAILED test_suite.py::test_missing_in_a_body" in out
    # ... and a plain skip fails the run at its end.
    assert "1 test(s) skipped under CI=true, not on the allow-list" in out
    assert "test_suite.py::test_plain_skip: someone skipped this" in out
    # The CUDA variant is the allow-listed skip, and only without a GPU.
    if cuda_available():
        assert "PASSED test_suite.py::test_cuda_variant" in out
    else:
        assert "allowed (cuda: CUDA variant on a host without a GPU)" in out


def test_under_ci_a_run_with_nothing_missing_passes(tmp_path):
    done = run_suite(tmp_path, "-k", "test_runs or test_cuda_variant", CI="true")
    assert done.returncode == 0, done.stdout
    assert "0 skipped outside the allow-list" in done.stdout


def test_the_allow_list_is_only_cuda():
    assert set(ALLOWED_SKIPS) == {"cuda"}


# --- Under CI=true, the services must be PostgreSQL and Redis that answer ------------


def test_service_urls_must_be_postgresql_and_redis():
    problems = service_problems(
        {"DATABASE_URL": "sqlite:///x.db", "CELERY_BROKER_URL": "memory://"}
    )
    assert problems == [
        "DATABASE_URL is not a PostgreSQL URL ('sqlite:///x.db')",
        "CELERY_BROKER_URL is not a Redis URL ('memory://')",
    ]
    assert len(service_problems({})) == 2


def test_services_must_answer():
    from tests.e2e.processes import free_port

    port = free_port()  # nothing listens there
    problems = service_problems(
        {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/triage",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        }
    )
    assert [p.split(" (")[0] for p in problems] == [
        "PostgreSQL at DATABASE_URL does not answer",
        "Redis at CELERY_BROKER_URL does not answer",
    ]


def test_ci_with_sqlite_refuses_to_start():
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CI": "true",
        "DATABASE_URL": "sqlite:///ci.db",
        "CELERY_BROKER_URL": "memory://",
    }
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--co"),
            str(TESTS / "triage" / "test_quoting.py"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "CI=true but DATABASE_URL is not a PostgreSQL URL" in done.stderr
    assert "CELERY_BROKER_URL is not a Redis URL" in done.stderr
