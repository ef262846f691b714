"""CTranslate2: converted once, then generation without torch in the hot loop.

CTranslate2 runs decoder-only models (Llama family such as SmolLM2, GPT-2) with
``Generator`` and encoder-decoder models (BART, Marian/opus-mt) with
``Translator``, int8 on a CPU and int8_float16/float16 on a GPU. A transformers
directory is converted once (``ensure_converted``) into the models directory, next
to it; a marker file records what it was converted from, so a changed source or
quantization converts again and an unchanged one is reused.

The tokenizer stays Hugging Face's (its files are copied into the converted
directory), so prompts, chat templates and decoding are the same as on the
transformers path, which remains the reference.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workers.nlp.buckets import length_buckets
from workers.nlp.engines.ct2_convert import MARKER
from workers.nlp.engines.prefix_cache import PrefixCache

logger = logging.getLogger(__name__)

COMPUTE_TYPES = (
    "auto",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "float16",
    "bfloat16",
    "float32",
)
COMPUTE_ENV = "TRIAGE_CT2_COMPUTE_TYPE"
DEVICE_ENV = "TRIAGE_DEVICE"
THREADS_ENV = "TRIAGE_TORCH_THREADS"
REPLICAS_ENV = "TRIAGE_CT2_REPLICAS"
# Generator replicas on a CPU, each with an equal share of the cores (see _open).
# Measured on 2 cores only; more replicas need more buckets in flight to pay.
DEFAULT_REPLICAS = 2
# Rows per generate_batch call, and the most tokens a call's prompts may differ by
# (each token of difference costs the whole call one decoding step).
BATCH_ROWS = 16
MAX_SPREAD = 8


def device() -> str:
    """``cuda`` or ``cpu``, from ``TRIAGE_DEVICE`` (``auto`` asks CTranslate2)."""
    import ctranslate2

    forced = os.environ.get(DEVICE_ENV, "auto").strip().lower() or "auto"
    if forced.startswith("cuda"):
        if ctranslate2.get_cuda_device_count() < 1:
            raise RuntimeError(f"{DEVICE_ENV}={forced} but CTranslate2 sees no GPU")
        return "cuda"
    if forced not in {"auto", "cpu"}:
        raise ValueError(f"{DEVICE_ENV} must be auto, cpu or cuda[:N], got {forced!r}")
    if forced == "auto" and ctranslate2.get_cuda_device_count() > 0:
        return "cuda"
    return "cpu"


def default_quantization(where: str) -> str:
    """int8 weights on a CPU; int8 weights with fp16 activations on a GPU."""
    explicit = os.environ.get(COMPUTE_ENV, "").strip().lower()
    if explicit and explicit != "auto":
        if explicit not in COMPUTE_TYPES:
            raise ValueError(f"{COMPUTE_ENV} must be one of {COMPUTE_TYPES}")
        return explicit
    return "int8_float16" if where == "cuda" else "int8"


def _threads() -> int:
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        return max(1, int(raw))
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def _replicas(threads: int) -> int:
    raw = os.environ.get(REPLICAS_ENV, "").strip()
    wanted = int(raw) if raw else DEFAULT_REPLICAS
    if wanted < 1:
        raise ValueError(f"{REPLICAS_ENV} must be a positive integer, got {raw!r}")
    return min(wanted, threads)


def _load_tokenizer(directory: Path) -> Any:
    from transformers import AutoConfig, AutoTokenizer

    hf_config = directory / "hf_config.json"
    if hf_config.is_file():
        # AutoTokenizer reads config.json for the model type; the converted
        # directory's config.json is CTranslate2's, so give it the original.
        config = AutoConfig.from_pretrained(str(hf_config))
        return AutoTokenizer.from_pretrained(str(directory), config=config)
    return AutoTokenizer.from_pretrained(str(directory))


def revision_of(directory: Path) -> str:
    try:
        key = json.loads((directory / MARKER).read_text(encoding="utf-8"))["key"]
    except (OSError, ValueError, KeyError):
        return "ct2"
    return f"ct2-{key[:12]}"


def _open(
    kind: str, directory: Path, where: str, compute_type: str, *, parallel: bool
) -> Any:
    """A ``ctranslate2.Generator`` or ``Translator`` on ``where``.

    ``parallel``: on a CPU, ``TRIAGE_CT2_REPLICAS`` replicas (default 2, at most
    one per core) share the cores, so that calls submitted together run side by
    side (``inter_threads``); else one replica with every core. Measured for
    SmolLM2's drafts on 2 cores (bench/README.md): a decoding step of a small
    batch is too short to share between threads (two threads made it slower, 35
    against 22 ms a token), while two batches, one per core, took half the time
    of the same batches in turn.
    """
    import ctranslate2

    if where != "cpu":
        inter, intra = 1, 0
    else:
        threads = _threads()
        inter = _replicas(threads) if parallel else 1
        intra = max(1, threads // inter)
    # Opening a model sets the calling thread's OpenMP thread count to
    # ``intra_threads``, and torch shares that runtime: with one thread per
    # replica, every torch model of the worker (MiniLM's embeddings, encoders)
    # ran on one core from then on. The count torch had is put back; the
    # replicas run in CTranslate2's own threads and keep theirs.
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    model = getattr(ctranslate2, kind)(
        str(directory),
        device=where,
        compute_type=compute_type,
        inter_threads=inter,
        intra_threads=intra,
    )
    if torch is not None and torch.get_num_threads() != torch_threads:
        torch.set_num_threads(torch_threads)
    return model


class _CT2Model:
    """A converted model opened on a device, with its tokenizer and revision."""

    KIND: str  # the ctranslate2 class: "Generator" or "Translator"
    # Whether callers submit several batches at once (see _open).
    PARALLEL = False

    def __init__(
        self,
        directory: str | Path,
        *,
        where: str | None = None,
        compute_type: str | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.device = where or device()
        self.compute_type = compute_type or default_quantization(self.device)
        self.engine = _open(
            self.KIND,
            self.directory,
            self.device,
            self.compute_type,
            parallel=self.PARALLEL,
        )
        self.tokenizer = _load_tokenizer(self.directory)
        self.revision = revision_of(self.directory)


class CT2Causal(_CT2Model):
    """A decoder-only model (SmolLM2, GPT-2) through ``ctranslate2.Generator``.

    Greedy decoding like the transformers path; ``stop(text)`` is asked after each
    token of a row (the generated text so far) and ends that row when true.
    """

    KIND = "Generator"
    PARALLEL = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # CTranslate2 keeps the static prompt's state itself: nothing to compute.
        self._prefixes = PrefixCache(lambda tokens: None)

    def generate_prompts(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        repetition_penalty: float = 1.0,
        stop: Callable[[str], bool] | None = None,
        max_batch_size: int = 0,
    ) -> list[str]:
        """Greedy continuations of ``prompts``, in order. Prompts of (nearly) the
        same token count share a call: CTranslate2 reads the prompt tokens past
        the shortest row's one step at a time, so a batch of mixed lengths pays a
        decoding step per token of difference (measured: 8 prompts of 100-170
        tokens took 3.5x their time one by one). The calls are submitted together
        and run side by side, one per replica (``_open``)."""
        tokenizer = self.tokenizer
        tokens = [
            tokenizer.convert_ids_to_tokens(
                tokenizer.encode(prompt, add_special_tokens=False)
            )
            for prompt in prompts
        ]
        texts = [""] * len(tokens)
        # The beginning every prompt shares (the system line and instruction) is
        # given as CTranslate2's static prompt, whose state it caches: measured
        # 25% off a draft prompt's forward pass. The rows are bucketed by what
        # remains of them.
        prefix = self._prefixes.prefix_for(tokens)
        static = list(prefix.tokens) if prefix is not None else None
        shared = len(static or ())
        own = [len(t) - shared for t in tokens]
        buckets = length_buckets(
            own,
            max_rows=max_batch_size or BATCH_ROWS,
            max_tokens=sys.maxsize,
            max_padding=1.0,
            max_spread=MAX_SPREAD,
        )
        pending = [
            (
                rows,
                self._submit(
                    [tokens[r][shared:] for r in rows],
                    max_new_tokens,
                    repetition_penalty,
                    stop,
                    static,
                ),
            )
            for rows in buckets
        ]
        for rows, written in pending:
            for r, text in zip(rows, written(), strict=True):
                texts[r] = text
        return texts

    def _submit(
        self,
        tokens: list[list[str]],
        max_new_tokens: int,
        repetition_penalty: float,
        stop: Callable[[str], bool] | None,
        static_prompt: list[str] | None = None,
    ) -> Callable[[], list[str]]:
        """Start generating ``tokens`` (asynchronously: a free replica takes
        it); the returned function waits for the texts."""
        tokenizer = self.tokenizer
        generated: list[list[int]] = [[] for _ in tokens]
        callback = None
        if stop is not None:
            # batch_id is the row's index in the submitted batch; CTranslate2 ends a
            # row when the callback returns True (greedy search only). It is called
            # from the replica's thread; each call has its own ``generated``.
            def callback(step: Any) -> bool:
                row = generated[step.batch_id]
                row.append(step.token_id)
                return stop(tokenizer.decode(row, skip_special_tokens=True))

        futures = self.engine.generate_batch(
            tokens,
            max_length=max_new_tokens,
            sampling_topk=1,
            beam_size=1,
            repetition_penalty=repetition_penalty,
            include_prompt_in_result=False,
            static_prompt=static_prompt,
            cache_static_prompt=static_prompt is not None,
            callback=callback,
            asynchronous=True,
        )

        def texts() -> list[str]:
            results = [future.result() for future in futures]
            return [
                tokenizer.decode(
                    result.sequences_ids[0] if callback is None else generated[i],
                    skip_special_tokens=True,
                )
                for i, result in enumerate(results)
            ]

        return texts

    def generate(
        self,
        conversations: Sequence[Sequence[dict[str, str]]],
        *,
        max_new_tokens: int,
        repetition_penalty: float = 1.0,
        stop: Callable[[str], bool] | None = None,
        reply_start: str = "",
    ) -> list[str]:
        """Chat messages -> the assistant's reply, through the tokenizer's template
        (``reply_start``: the reply's first words, given; not returned)."""
        prompts = [
            self.tokenizer.apply_chat_template(
                list(messages), add_generation_prompt=True, tokenize=False
            )
            + reply_start
            for messages in conversations
        ]
        return self.generate_prompts(
            prompts,
            max_new_tokens=max_new_tokens,
            repetition_penalty=repetition_penalty,
            stop=stop,
        )


class CT2Seq2Seq(_CT2Model):
    """An encoder-decoder model (BART summaries, Marian translation) through
    ``ctranslate2.Translator``; greedy or beam search on token strings."""

    KIND = "Translator"

    def __call__(
        self,
        texts: Sequence[str],
        *,
        max_new_tokens: int = 256,
        beam_size: int = 1,
        max_input_tokens: int = 512,
        max_batch_size: int = 0,
    ) -> list[str]:
        tokenizer = self.tokenizer
        sources = [
            tokenizer.convert_ids_to_tokens(
                tokenizer.encode(text, truncation=True, max_length=max_input_tokens)
            )
            for text in texts
        ]
        results = self.engine.translate_batch(
            sources,
            beam_size=beam_size,
            max_decoding_length=max_new_tokens,
            max_batch_size=max_batch_size,
            # CTranslate2 sorts by length inside the batch itself (and restores the
            # order), so padding stays small whatever order we pass.
            batch_type="examples",
        )
        return [
            tokenizer.decode(
                tokenizer.convert_tokens_to_ids(result.hypotheses[0]),
                skip_special_tokens=True,
            )
            for result in results
        ]
