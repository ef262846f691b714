"""apertium kept running: one pipeline per direction, its programs started once.

``apertium -u -f txt <mode>`` starts ten or so programs per call, each loading its
dictionary or rules (~0.12 s a run on two cores): more than translating an email
costs. Here a direction's programs (its ``.mode`` file) run once, each in
null-flush mode (``-z``: it translates up to a NUL, writes the result and a NUL,
and waits for more), and a text costs its translation (~10 ms for an email).

What the wrapper adds around a mode for plain text is kept: ``apertium-destxt``
before, ``apertium-retxt`` after, run per text (small programs with no data to
load). They stay outside the resident part because the wrapper's own ``-z`` drops
the NUL that ends each reply. The output is the wrapper's, byte for byte (tests
compare every installed direction). Any failure (a program gone, a timeout, a
reply without its NUL) closes the pipeline and the caller runs the wrapper
instead; the next text starts a new pipeline.

Written by hand: no packaged client keeps apertium resident from Python.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import selectors
import shlex
import shutil
import subprocess
import threading
import time
from collections import OrderedDict
from pathlib import Path

logger = logging.getLogger(__name__)

# How many directions stay resident per worker process, least recently used
# closed first; 0 turns it off. A direction's programs hold ~100 MB of their own
# (spa-eng: 91 MB private, measured); French to English and back is four.
ENABLED_ENV = "TRIAGE_APERTIUM_RESIDENT"
DEFAULT_RESIDENT = 4
DATADIR_ENV = "APERTIUM_DATADIR"
DEFAULT_DATADIR = "/usr/share/apertium"
# What ``apertium -u`` puts for $1 (the generator's mode: no "*" before unknown
# words) and for $2 (the tagger's extra option: none).
MODE_ARGS = {"$1": ["-n"], "$2": []}
NUL = b"\0"
PIPE = "|"
CHUNK = 1 << 16


class ResidentError(RuntimeError):
    """The resident pipeline could not translate this text; use the wrapper."""


def capacity() -> int:
    raw = os.environ.get(ENABLED_ENV, "").strip()
    if not raw:
        return DEFAULT_RESIDENT
    if not raw.isdigit():
        raise ValueError(f"{ENABLED_ENV} must be a number of directions, got {raw!r}")
    return int(raw)


def enabled() -> bool:
    return capacity() > 0


def mode_stages(mode: str) -> list[list[str]] | None:
    """The mode's programs as argv lists, each with ``-z``; None when the mode file
    or one of its programs is missing (the wrapper then does what it can)."""
    datadir = Path(os.environ.get(DATADIR_ENV) or DEFAULT_DATADIR)
    try:
        line = (datadir / "modes" / f"{mode}.mode").read_text(encoding="utf-8")
    except OSError:
        return None
    # "|" is its own word even without spaces around it; quoted paths stay whole.
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    stages: list[list[str]] = [[]]
    for word in lexer:
        if word == PIPE:
            stages.append([])
        else:
            stages[-1].extend(MODE_ARGS.get(word, [word]))
    programs = []
    for argv in stages:
        exe = shutil.which(argv[0]) if argv else None
        if exe is None:
            return None
        programs.append([exe, "-z", *argv[1:]])
    return programs


class Pipeline:
    """One direction's programs, chained, fed one text at a time."""

    def __init__(self, stages: list[list[str]]) -> None:
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen[bytes]] = []
        upstream = None
        try:
            for argv in stages:
                proc = subprocess.Popen(  # noqa: S603 - argv from the mode file
                    argv,
                    stdin=upstream if upstream is not None else subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
                if upstream is not None:
                    upstream.close()  # the next program holds it now
                upstream = proc.stdout
                self._procs.append(proc)
        except OSError:
            self.close()
            raise
        head = self._procs[0].stdin
        assert head is not None and upstream is not None
        self._in = head
        self._out = upstream
        os.set_blocking(self._in.fileno(), False)

    def alive(self) -> bool:
        return self.pid == os.getpid() and all(p.poll() is None for p in self._procs)

    def translate(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self._lock:
            formatted = _run(["apertium-destxt"], text.encode("utf-8"), deadline)
            if NUL in formatted:
                raise ResidentError("a NUL in the text would end it early")
            reply = self._exchange(formatted + NUL, deadline)
            return _run(["apertium-retxt"], reply, deadline).decode("utf-8")

    def _exchange(self, data: bytes, deadline: float) -> bytes:
        """Write ``data`` while reading the reply (a long text would fill the pipes
        both ways), up to the NUL that ends it."""
        pending = memoryview(data)
        reply = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(self._out, selectors.EVENT_READ)
            selector.register(self._in, selectors.EVENT_WRITE)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ResidentError("timed out")
                for key, _ in selector.select(left):
                    if key.fileobj is self._in:
                        try:
                            written = os.write(self._in.fileno(), pending[:CHUNK])
                        except BlockingIOError:
                            continue
                        except OSError as exc:
                            raise ResidentError(f"pipeline closed: {exc}") from exc
                        pending = pending[written:]
                        if not pending:
                            selector.unregister(self._in)
                        continue
                    chunk = os.read(self._out.fileno(), CHUNK)
                    if not chunk:
                        raise ResidentError("pipeline ended")
                    reply += chunk
                    end = reply.find(NUL)
                    if end >= 0:
                        if end != len(reply) - 1 or pending:
                            raise ResidentError("reply out of step with the text")
                        return bytes(reply[:end])

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self._procs:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


def _run(argv: list[str], data: bytes, deadline: float) -> bytes:
    exe = shutil.which(argv[0])
    if exe is None:
        raise ResidentError(f"{argv[0]} is not installed")
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, text on stdin
            [exe, *argv[1:]],
            input=data,
            capture_output=True,
            timeout=max(deadline - time.monotonic(), 0.001),
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ResidentError(f"{argv[0]} failed: {exc}") from exc
    return done.stdout


# Least recently used first.
_pipelines: OrderedDict[str, Pipeline] = OrderedDict()
_registry_lock = threading.Lock()


def _pipeline(mode: str) -> Pipeline:
    with _registry_lock:
        known = _pipelines.get(mode)
        if known is not None and known.alive():
            _pipelines.move_to_end(mode)
            return known
        if known is not None and known.pid == os.getpid():
            known.close()
        # A pipeline inherited from a parent process (a forked worker) is the
        # parent's to use and close; this process starts its own.
        stages = mode_stages(mode)
        if stages is None:
            raise ResidentError(f"no mode file or program for {mode}")
        try:
            started = Pipeline(stages)
        except OSError as exc:
            raise ResidentError(f"cannot start {mode}: {exc}") from exc
        _pipelines[mode] = started
        _evict(keep=capacity())
        return started


def _evict(*, keep: int) -> None:
    """Close the least recently used pipelines of this process beyond ``keep``;
    one in use is left to finish (its lock is held)."""
    mine = [m for m, p in _pipelines.items() if p.pid == os.getpid()]
    for mode in mine[: max(len(mine) - keep, 0)]:
        pipeline = _pipelines[mode]
        if pipeline._lock.acquire(blocking=False):
            del _pipelines[mode]
            pipeline._lock.release()
            pipeline.close()


def translate(mode: str, text: str, *, timeout: float) -> str:
    """``text`` through the resident ``mode``, or ResidentError (pipeline closed)."""
    pipeline = _pipeline(mode)
    try:
        return pipeline.translate(text, timeout)
    except ResidentError:
        with _registry_lock:
            if _pipelines.get(mode) is pipeline:
                del _pipelines[mode]
        pipeline.close()
        raise


@atexit.register
def close_all() -> None:
    with _registry_lock:
        mine = [p for p in _pipelines.values() if p.pid == os.getpid()]
        _pipelines.clear()
    for pipeline in mine:
        pipeline.close()
