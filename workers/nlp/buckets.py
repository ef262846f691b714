"""Length buckets: the units a step runs (sentences, prompts, windows) sorted by
length and cut so that a batch's padding stays small.

Padding a batch to its longest row is what made batched steps slower than one at
a time on a CPU: a batch of sentences from 5 to 300 tokens costs rows x 300. Sorted
and cut where padding would pass a share, each batch costs about its real tokens,
and one call still serves many rows.
"""

from __future__ import annotations

# A bucket's padded size (rows x its longest row, in tokens) and how much of it may
# be padding. Measured on 2 CPU cores with MiniLM: one forward pass of a few
# hundred tokens is already compute-bound, so bigger buckets gain nothing, and
# padding is pure loss (attention grows with the square of the padded length).
BUCKET_TOKENS = 2048
MAX_PADDING = 0.2


def length_buckets(
    lengths: list[int],
    *,
    max_rows: int,
    max_tokens: int = BUCKET_TOKENS,
    max_padding: float = MAX_PADDING,
    max_spread: int | None = None,
) -> list[list[int]]:
    """Indices of ``lengths`` sorted by length and cut into buckets: at most
    ``max_rows`` rows, ``max_tokens`` padded tokens, a share of padding of at
    most ``max_padding`` and, when given, at most ``max_spread`` tokens between a
    bucket's shortest and longest row (a row that would push any of them over
    starts a new bucket)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    buckets: list[list[int]] = []
    current: list[int] = []
    real = 0
    for i in order:
        length = max(1, lengths[i])
        if current:
            # Sorted ascending: the new row is the longest, so it sets the width.
            rows = len(current) + 1
            padded = rows * length
            padding = 1.0 - (real + length) / padded
            spread = length - max(1, lengths[current[0]])
            if (
                rows > max_rows
                or padded > max_tokens
                or padding > max_padding
                or (max_spread is not None and spread > max_spread)
            ):
                buckets.append(current)
                current, real = [], 0
        current.append(i)
        real += length
    if current:
        buckets.append(current)
    return buckets
