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

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workers.nlp.buckets import length_buckets

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


def _laid_out(
    rows: Sequence[Sequence[int]], size: int, pad_id: int
) -> tuple[list[list[int]], list[list[int]], int]:
    """Input ids and attention mask of ``prefix | padding | own tokens``, and the
    prompt width."""
    own = [list(row[size:]) for row in rows]
    width = max(len(tokens) for tokens in own)
    return (
        [
            [*row[:size], *([pad_id] * (width - len(t))), *t]
            for row, t in zip(rows, own, strict=True)
        ],
        [[1] * size + [0] * (width - len(t)) + [1] * len(t) for t in own],
        size + width,
    )


def layout(
    rows: Sequence[Sequence[int]], prefix: Prefix, pad_id: int, *, room: int = 0
) -> Layout:
    """``prefix | padding | own tokens`` per row, and a copy of the cache per row,
    with room for the prompt's own tokens and ``room`` more (generation appends
    to it in place: kv_room)."""
    from workers.nlp.engines.kv_room import behind

    size = len(prefix.tokens)
    input_ids, attention_mask, width = _laid_out(rows, size, pad_id)
    cache = behind(prefix.cache, len(rows), length=size, room=width - size + room)
    return Layout(input_ids, attention_mask, cache, width)


# The padding a read call may carry: its forward pass is compute-bound on a CPU, so
# every padded token costs what a real one does.
READ_PADDING = 0.1


def ragged_layout(
    model: Any,
    rows: Sequence[Sequence[int]],
    prefix: Prefix,
    pad_id: int,
    device: str,
    *,
    read_padding: float = READ_PADDING,
    room: int = 0,
) -> Layout:
    """``layout`` with the prompts already read, all but their last token, in
    calls of similar lengths; the returned cache holds them laid out as one batch.

    A batch decodes together (each decoding step serves every row), but reading
    its prompts padded to the longest one costs the padding: on the bench's 25
    draft prompts (own parts of 39-133 tokens) 2,717 tokens were computed for
    2,017 real ones. Here the rows are read in buckets of at most ``read_padding``
    padding, and their keys and values are put side by side, each row's after the
    prefix and right-aligned, the gap masked out as in ``layout``. ``generate``
    then reads each row's last token and decodes: every row is computed as alone
    (its positions count only its real tokens, as ``generate`` counts them).
    ``room``: the tokens generation will add past the prompt, which the cache
    holds in place (kv_room)."""
    import torch

    from workers.nlp.engines.kv_room import behind

    size = len(prefix.tokens)
    input_ids, attention_mask, prompt_width = _laid_out(rows, size, pad_id)
    # What is read here: every row's own tokens but the last, which generate reads.
    head = [row[:-1] for row in rows]
    buckets = length_buckets(
        [len(row) - size for row in head],
        max_rows=len(rows),
        max_tokens=2**31,
        max_padding=read_padding,
    )
    if len(buckets) == 1:
        # Little padding anyway: generate reads them in one call, one call fewer.
        return layout(rows, prefix, pad_id, room=room)
    end = prompt_width - 1
    # generate reads every row's last token into it, then writes ``room`` tokens.
    merged = behind(prefix.cache, len(rows), length=end, room=1 + room)
    for bucket in buckets:
        ids, mask, width = _laid_out([head[r] for r in bucket], size, pad_id)
        if width == size:
            continue  # rows of one own token: nothing to read before generate
        cache = behind(prefix.cache, len(bucket), length=size, room=width - size)
        mask_t = torch.tensor(mask, device=device)
        # generate's own rule: a token's position counts the real tokens before it.
        positions = (mask_t.cumsum(-1) - 1).clamp(min=0)[:, size:]
        with torch.inference_mode():
            model(
                input_ids=torch.tensor(ids, device=device)[:, size:],
                attention_mask=mask_t,
                position_ids=positions,
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        for into, layer in zip(merged.layers, cache.layers, strict=True):
            for j, r in enumerate(bucket):
                n = len(head[r]) - size
                into.keys[r, :, end - n :] = layer.keys[j, :, width - n :]
                into.values[r, :, end - n :] = layer.values[j, :, width - n :]
    return Layout(input_ids, attention_mask, merged, prompt_width)
