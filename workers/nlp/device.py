"""Where models run and how they are loaded onto it.

torch and transformers are imported inside the functions: importing this module
must stay cheap for processes (the web, a prefork parent) that never run a model.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

DEVICE_ENV = "TRIAGE_DEVICE"
DTYPE_ENV = "TRIAGE_DTYPE"
THREADS_ENV = "TRIAGE_TORCH_THREADS"
_DTYPES = ("float32", "float16", "bfloat16")


def pick_device(*, generates: bool = False) -> tuple[str, torch.dtype]:
    """``("cuda", float16)`` when a GPU is usable, else ``("cpu", float32)``, or
    ``("cpu", bfloat16)`` for a model that ``generates`` text on a CPU that
    multiplies bfloat16 faster than float32 (:func:`fast_bfloat16`).

    ``TRIAGE_DEVICE`` (``cpu``, ``cuda``, ``cuda:N``, ``auto``) overrides the device,
    ``TRIAGE_DTYPE`` (``auto``, ``float32``, ``float16``, ``bfloat16``) the dtype.
    """
    import torch

    forced = os.environ.get(DEVICE_ENV, "auto").strip().lower() or "auto"
    if forced.startswith("cuda"):
        if not torch.cuda.is_available():
            # Falling back silently would turn a misconfigured GPU host into a
            # very slow CPU host nobody notices.
            raise RuntimeError(f"{DEVICE_ENV}={forced} but torch sees no CUDA device")
        return forced, _dtype(torch, torch.float16)
    if forced == "auto" and torch.cuda.is_available():
        return "cuda", _dtype(torch, torch.float16)
    if forced not in {"auto", "cpu"}:
        raise ValueError(f"{DEVICE_ENV} must be auto, cpu or cuda[:N], got {forced!r}")
    _set_cpu_threads(torch)
    why = fast_bfloat16(torch) if generates else ""
    dtype = _dtype(torch, torch.bfloat16 if why else torch.float32)
    if why and dtype == torch.bfloat16:
        logger.info("this CPU has %s: text generation runs in bfloat16", why)
    if dtype == torch.float16:
        # Many CPU kernels have no fp16 implementation; fail at load, not mid-batch.
        raise ValueError(f"{DTYPE_ENV}=float16 needs a CUDA device")
    return "cpu", dtype


def _dtype(torch: Any, default: torch.dtype) -> torch.dtype:
    name = os.environ.get(DTYPE_ENV, "auto").strip().lower() or "auto"
    if name == "auto":
        return default
    if name not in _DTYPES:
        raise ValueError(f"{DTYPE_ENV} must be auto or one of {_DTYPES}, got {name!r}")
    return getattr(torch, name)


def fast_bfloat16(torch: Any) -> str:
    """What makes bfloat16 products faster than float32 on this CPU ("" when
    nothing does): ``"AMX"``, or ``"AVX512-BF16"`` on an AMD CPU.

    Measured (bench/README.md): on an Intel CPU with AMX the offline draft reads its
    prompts 3.5x faster in bfloat16; on 2-core AMD EPYCs (one AVX512-BF16
    instruction does twice a float32 FMA's products) the batched drafts are 2.1x
    faster on Zen 4, whose AVX-512 runs as two 256-bit halves, and 2.4x on Zen 5,
    whose units are full width. On the Intel AMX CPU with oneDNN capped at
    AVX512-BF16, bfloat16 drafts were slower than float32, and no Intel CPU with
    AVX512-BF16 but no AMX (Cooper Lake) was measured: an Intel CPU without AMX
    keeps float32.

    Only the draft models (decoder-only) take it by default: their text changes a
    little (18 of 25 drafts identical on the AMX CPU), while the labels, scores and
    spans of the encoder steps stay the same on every CPU, and the seq2seq models
    were not measured.
    """
    if amx(torch):
        return "AMX"
    if _cpu_vendor() != "AuthenticAMD":
        return ""
    supported = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    if not (supported and supported()):
        return ""
    # Capped below AVX512-BF16 (AVX512_CORE_VNNI), bfloat16 drafts on that CPU
    # took 9.7 s batched against 6.7 in float32: the products are emulated.
    if not _onednn_allows("BF16", "FP16", "AMX", "AVX10"):
        return ""
    return "AVX512-BF16"


def _onednn_allows(*isa_parts: str) -> bool:
    """``ONEDNN_MAX_CPU_ISA`` is unset, or caps oneDNN at an ISA whose name holds
    one of ``isa_parts`` (``AVX512_CORE_AMX`` holds ``AMX``)."""
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    return (
        not limit
        or limit in {"ALL", "DEFAULT"}
        or any(part in limit for part in isa_parts)
    )


def _cpu_vendor() -> str:
    """``vendor_id`` of /proc/cpuinfo ("" where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("vendor_id"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return ""


def amx(torch: Any) -> bool:
    """The CPU has AMX tiles and this process may use them.

    oneDNN runs bfloat16 matrix products there: the offline draft reads its
    prompts 3.5x faster and writes a batch 1.8x faster than in float32 on a 2-core
    Sapphire Rapids (bench/README.md).
    """
    # An operator who capped oneDNN below AMX gets float32: on this CPU with AMX
    # turned off that way, bfloat16 drafts were slower than float32 (bench/README.md).
    if not _onednn_allows("AMX"):
        return False
    supported = getattr(torch.cpu, "_is_amx_tile_supported", None)
    # The kernel hands out AMX state per process only when asked (arch_prctl);
    # torch asks here and says whether it was granted.
    granted = getattr(torch.cpu, "_init_amx", None)
    return bool(supported and supported() and granted and granted())


def _cpu_budget() -> int:
    # cpu_count() reports the host's cores, not the ones this container may use.
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _set_cpu_threads(torch: Any) -> None:
    raw = os.environ.get(THREADS_ENV, "").strip()
    threads = int(raw) if raw else _cpu_budget()
    if threads < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, got {raw!r}")
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
        logger.info("torch CPU threads set to %s", threads)


def load_pretrained(
    auto_class: Any,
    model_id: str,
    *,
    require_fast: bool = True,
    generates: bool = False,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, str]:
    """Load ``model_id`` with ``auto_class`` and its tokenizer, ready to infer.

    Returns ``(model, tokenizer, device)``; the model is on ``device`` in eval mode.
    ``require_fast`` is for steps that need character offsets; generation steps
    take a slow tokenizer too (Marian has only a sentencepiece one). ``generates``:
    a decoder-only model writing text (see :func:`pick_device`).
    """
    from transformers import AutoTokenizer

    device, dtype = pick_device(generates=generates)
    model = auto_class.from_pretrained(model_id, dtype=dtype)
    model.to(device)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(model_id, use_fast=True)
    if require_fast and not tokenizer.is_fast:
        # Offsets (entity spans, answer spans) need the Rust tokenizer.
        raise TypeError(f"{model_id}: a fast tokenizer is required, got {tokenizer!r}")
    _fit_max_length(tokenizer, model)
    return model, tokenizer, device


def _fit_max_length(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> None:
    # Older Hub tokenizers save no model_max_length and report a huge sentinel, which
    # would let truncation and windowing run past the position embeddings.
    config = model.config
    limit = getattr(config, "max_position_embeddings", None)
    if limit is None:
        limit = getattr(config, "n_positions", None)  # GPT-2
    if isinstance(limit, int) and tokenizer.model_max_length > limit:
        tokenizer.model_max_length = limit


def revision_of(model: PreTrainedModel) -> str | None:
    """The Hub commit the weights came from; None for local directories."""
    revision = getattr(model.config, "_commit_hash", None)
    return revision if isinstance(revision, str) and revision else None
