"""Fault injection for reliability tests and game days; inert unless configured.

`TRIAGE_FAULT_INJECTION=<mode>:<marker>[:<seconds>]` makes a triage batch that
contains a message with `<marker>` in its text misbehave, the way real faults do:
  raise   the batch raises RuntimeError (a poison message)
  hang    sleep for a day (a hung model: the soft time limit must cut it off)
  slow    sleep `<seconds>` (default 5), then carry on (a window to kill the worker)
  kill    SIGKILL this worker process (an OOM kill mid-triage)
Markers are chosen by the test, so production mail never matches by accident; the
variable is unset in every deployment file.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Sequence

logger = logging.getLogger(__name__)

ENV = "TRIAGE_FAULT_INJECTION"


def inject(texts: Sequence[str]) -> None:
    spec = os.environ.get(ENV, "")
    if not spec:
        return
    mode, _, rest = spec.partition(":")
    marker, _, seconds = rest.partition(":")
    if not marker or not any(marker in text for text in texts):
        return
    logger.warning("Fault injection: %s (marker %r)", mode, marker)
    if mode == "raise":
        raise RuntimeError(f"injected fault for marker {marker!r}")
    if mode == "hang":
        time.sleep(86400)
    elif mode == "slow":
        time.sleep(float(seconds or 5))
    elif mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    else:
        raise ValueError(f"unknown fault injection mode {mode!r}")
