"""The prompt's shared beginning, computed once: a prefix cache for transformers
causal models (what vLLM calls automatic prefix caching, for one prefix), and the
choice of that prefix for CTranslate2's own static-prompt cache.

On a CPU the prompt's forward pass is compute-bound: a batch of 16 prompts costs
16 prompts' time, so batching buys only the decoding steps. The draft prompts of a
shop share their first ~80 of ~150 tokens (system line, instruction, fence); their
keys and values are computed once and reused by every later call, batched or not.

Rows of a batch are laid out ``prefix | padding | own tokens``: the padding sits
after the shared part, masked out, and the position ids that ``generate`` derives
from the attention mask count only real tokens, so each row is computed as it
would be alone (checked token for token in tests/workers/offline/test_prefix_cache.py).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# A shorter shared beginning saves less than keeping it costs.
MIN_PREFIX_TOKENS = 32


def common_prefix(rows: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
    """The longest beginning every row shares."""
    if not rows:
        return ()
    shortest = min(rows, key=len)
    for i, token in enumerate(shortest):
        if any(row[i] != token for row in rows):
            return tuple(shortest[:i])
    return tuple(shortest)


@dataclass(frozen=True)
class Prefix:
    """A shared beginning and what the engine keeps of it (for transformers its
    keys and values, batch of one; CTranslate2 keeps its own)."""

    tokens: tuple[Any, ...]
    cache: Any


@dataclass(frozen=True)
class Layout:
    """A batch laid out behind a cached prefix."""

    input_ids: list[list[int]]
    attention_mask: list[list[int]]
    cache: Any  # the prefix's cache, one copy per row
    width: int  # prompt width: generated tokens start here


class PrefixCache:
    """One remembered prefix per model and what ``compute(tokens)`` makes of it
    (a few MB of keys and values for SmolLM2)."""

    def __init__(self, compute: Callable[[tuple[Any, ...]], Any]) -> None:
        self._compute = compute
        self._known: Prefix | None = None
        self._lock = threading.Lock()

    def prefix_for(self, rows: Sequence[Sequence[Any]]) -> Prefix | None:
        """The prefix to serve ``rows`` with (computed when it changes), or None
        when they share too little. Every row keeps at least one own token."""
        with self._lock:
            known = self._known
            if known is not None and all(
                len(row) > len(known.tokens)
                and tuple(row[: len(known.tokens)]) == known.tokens
                for row in rows
            ):
                return known
            own = common_prefix([row[:-1] for row in rows])
            # A single prompt alone shares itself; the next one trims the prefix to
            # what both have (the system line and the instruction).
            merged = common_prefix([known.tokens, own]) if known is not None else ()
            wanted = merged if len(merged) >= MIN_PREFIX_TOKENS else own
            if len(wanted) < MIN_PREFIX_TOKENS:
                return None
            self._known = Prefix(wanted, self._compute(wanted))
            return self._known


def keys_and_values(model: Any, device: str) -> Callable[[tuple[Any, ...]], Any]:
    """``compute`` for a transformers causal model: the prefix's cache."""

    def compute(tokens: tuple[Any, ...]) -> Any:
        import torch
        from transformers import DynamicCache

        cache = DynamicCache(config=model.config)
        with torch.inference_mode():
            model(
                input_ids=torch.tensor([tokens], device=device),
                cache=cache,
                use_cache=True,
            )
        return cache

    return compute


def layout(rows: Sequence[Sequence[int]], prefix: Prefix, pad_id: int) -> Layout:
    """``prefix | padding | own tokens`` per row, and a copy of the cache per row
    (generation appends to it)."""
    size = len(prefix.tokens)
    own = [list(row[size:]) for row in rows]
    width = max(len(tokens) for tokens in own)
    cache = copy.deepcopy(prefix.cache)
    if len(rows) > 1:
        cache.batch_repeat_interleave(len(rows))
    return Layout(
        input_ids=[[*prefix.tokens, *([pad_id] * (width - len(t))), *t] for t in own],
        attention_mask=[
            [1] * size + [0] * (width - len(t)) + [1] * len(t) for t in own
        ],
        cache=cache,
        width=size + width,
    )
