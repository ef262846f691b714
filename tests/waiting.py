"""Waiting for something asynchronous (a worker, a mail) without timing asserts.

A timeout here is a liveness bound, not a speed target: it only stops a test
that would otherwise wait forever, and fails it with what was seen. Speed is
measured in bench/, never asserted in tests (tests/test_honest_suite.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    done: Callable[[], object],
    *,
    timeout: float,
    what: str,
    log: str | Callable[[], str] = "",
) -> None:
    """Poll `done` until it returns something true; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            text = log() if callable(log) else log
            raise AssertionError(f"{what}: not after {timeout:.0f}s\n{text}")
        time.sleep(0.2)
