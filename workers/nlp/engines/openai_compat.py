"""An OpenAI-compatible chat-completions server as a text-to-text backend.

vLLM, TGI, Ollama, llama.cpp's server and hosted endpoints all speak
``POST {base}/chat/completions``; a team that serves its instruction model behind
one (continuous batching on its GPUs) points the workers at it instead of loading
a model into each worker:

    TRIAGE_OPENAI_BASE_URL=http://llm.internal:8000/v1
    TRIAGE_OPENAI_MODEL=smollm2            # the server's model name
    TRIAGE_OPENAI_API_KEY=...              # optional ("none" when unset)
    TRIAGE_OPENAI_TIMEOUT=60               # seconds per request
    TRIAGE_OPENAI_RETRIES=2                # retries of a request (5xx, timeouts)
    TRIAGE_OPENAI_CONCURRENCY=4            # requests in flight per worker process

A batch is sent as concurrent requests (at most ``concurrency`` in flight): the
server batches them. A request that still fails after its retries raises (the
batch's requests not yet sent are then not sent), so the step that asked fails
as a whole and the pipeline records that step's error for
the batch (the other steps' results are saved; the task re-runs that step alone,
with backoff: workers/tasks/stages.py).
Nothing is silently replaced by a fallback.

The client is the official ``openai`` package (timeouts, retries with backoff,
error types); only the concurrency cap is ours.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

ENV_PREFIX = "TRIAGE_OPENAI_"
# Chat prompts are measured without the server's tokenizer: ~4 characters per
# token is the usual rule for English BPE vocabularies, and it only sizes inputs.
CHARS_PER_TOKEN = 4


class OpenAIBackendError(RuntimeError):
    """The server could not produce a completion (after retries)."""


class _NotSent(OpenAIBackendError):
    """A request of a batch that had already failed (never raised to callers)."""


@dataclass(frozen=True)
class OpenAISettings:
    base_url: str
    model: str
    api_key: str = "none"
    timeout: float = 60.0
    retries: int = 2
    concurrency: int = 4
    context_tokens: int = 8192

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpenAISettings:
        env = os.environ if env is None else env

        def get(name: str, default: str = "") -> str:
            return env.get(ENV_PREFIX + name, default).strip()

        base_url = get("BASE_URL")
        model = get("MODEL")
        if not base_url or not model:
            raise LookupError(
                f"the openai backend needs {ENV_PREFIX}BASE_URL and {ENV_PREFIX}MODEL"
            )
        settings = cls(
            base_url=base_url.rstrip("/"),
            model=model,
            api_key=get("API_KEY") or "none",
            timeout=float(get("TIMEOUT", "60")),
            retries=int(get("RETRIES", "2")),
            concurrency=int(get("CONCURRENCY", "4")),
            context_tokens=int(get("CONTEXT_TOKENS", "8192")),
        )
        if settings.timeout <= 0 or settings.retries < 0 or settings.concurrency < 1:
            raise ValueError(
                f"{ENV_PREFIX}TIMEOUT must be > 0, RETRIES >= 0, CONCURRENCY >= 1"
            )
        return settings


class OpenAIChat:
    """Chat completions for a batch of conversations, ``concurrency`` at a time."""

    tiny = False

    def __init__(self, settings: OpenAISettings) -> None:
        from openai import OpenAI

        self.settings = settings
        self.model_id = f"openai:{settings.model}@{settings.base_url}"
        # What the server says it serves is not asked for: many servers answer
        # /models with something other than the weights' revision.
        self.revision = settings.model
        self._client = OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key,
            timeout=settings.timeout,
            max_retries=settings.retries,
        )
        # One cap per process, shared by every step that uses this server.
        self._slots = threading.BoundedSemaphore(settings.concurrency)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpenAIChat:
        return cls(OpenAISettings.from_env(env))

    def complete_one(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        max_new_tokens: int,
        stop: Sequence[str] | None = None,
        **extra: Any,
    ) -> str:
        import openai

        with self._slots:
            try:
                response = self._client.chat.completions.create(
                    model=self.settings.model,
                    messages=[dict(m) for m in messages],
                    max_tokens=max_new_tokens,
                    temperature=0.0,
                    stop=list(stop) if stop else None,
                    extra_body=extra or None,
                )
            except openai.APIError as exc:
                raise OpenAIBackendError(
                    f"{self.settings.base_url}: {type(exc).__name__}: {exc}"
                ) from exc
        if not response.choices:
            raise OpenAIBackendError(f"{self.settings.base_url}: no choices returned")
        return response.choices[0].message.content or ""

    def generate(
        self,
        conversations: Sequence[Sequence[Mapping[str, str]]],
        *,
        max_new_tokens: int,
        stop: Sequence[str] | None = None,
        **extra: Any,
    ) -> list[str]:
        """One reply per conversation, in order; raises if any request fails."""
        if not conversations:
            return []
        if len(conversations) == 1:
            return [
                self.complete_one(
                    conversations[0], max_new_tokens=max_new_tokens, stop=stop, **extra
                )
            ]
        # The step fails as a whole at its first failed request, so the requests
        # not yet sent are not sent: a server that answers 500 or hangs got
        # every one of them, each retried, before the step could fail. Those in
        # flight finish as the pool closes.
        failed = threading.Event()

        def one(messages: Sequence[Mapping[str, str]]) -> str:
            if failed.is_set():
                raise _NotSent
            try:
                return self.complete_one(
                    messages, max_new_tokens=max_new_tokens, stop=stop, **extra
                )
            except BaseException:
                failed.set()
                raise

        workers = min(self.settings.concurrency, len(conversations))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(one, messages) for messages in conversations]
            # In order, the failure comes before any request it kept from being
            # sent (those were taken from the queue after it).
            return [future.result() for future in futures]


class OpenAIChatGenerator:
    """The chat half of ``workers.nlp.generation.CausalGenerator``'s interface over
    a server, so the chat backends of answer, summary, translation and draft use
    it unchanged (their prompts, fencing and scrubbing included)."""

    tiny = False
    chat = True
    default_max_new_tokens: int | None = None

    def __init__(self, chat: OpenAIChat) -> None:
        self._chat = chat
        self.model_id = chat.model_id
        self.revision = chat.revision
        self.max_tokens = chat.settings.context_tokens

    @classmethod
    def from_env(cls) -> OpenAIChatGenerator:
        return cls(OpenAIChat.from_env())

    def clean(self, text: str) -> str:
        # No special-token strings to strip: the server applies its own chat
        # template to the messages, and content is never parsed as control tokens.
        return text

    def count_tokens(self, text: str) -> int:
        return -(-len(text) // CHARS_PER_TOKEN)

    def fit(self, text: str, max_tokens: int) -> str:
        if max_tokens <= 0:
            return ""
        limit = max_tokens * CHARS_PER_TOKEN
        if len(text) <= limit:
            return text
        return text[:limit].rstrip() + " […]"

    def complete(
        self,
        prompts: Sequence[str] | Sequence[list[dict[str, str]]],
        *,
        batch_size: int,
        max_new_tokens: int,
        **generate_kwargs: Any,
    ) -> list[str]:
        conversations = [
            [{"role": "user", "content": p}] if isinstance(p, str) else p
            for p in prompts
        ]
        # Sampling options of transformers' generate() (do_sample, num_beams,
        # repetition_penalty) have no portable chat-completions equivalent:
        # completions are greedy (temperature 0) on every server.
        return self._chat.generate(conversations, max_new_tokens=max_new_tokens)
