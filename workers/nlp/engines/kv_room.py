"""A transformers key/value cache that grows in place.

transformers' ``DynamicLayer`` appends a decoding step's keys and values with
``torch.cat``, which copies the whole cache every step: for the draft's batch of
25 rows behind a ~230-token prompt, 264 MB a step (30 layers, keys and values), as
much memory traffic as reading SmolLM2's weights. On the bench's CPU the copy was
a third of a profiled decoding step (aten::cat 170 of ~470 ms). Here the keys and
values live in a buffer with room for the tokens still to come; a step writes its
token into the room and attention reads a view of the filled part.

Only the storage differs from ``DynamicLayer``: the layer still reports its
length from ``keys``, and the methods that replace ``keys`` (``crop``, batch
selection, beam reordering, ``reset``) keep working, as the next ``update``
notices that ``keys`` no longer is its buffer's beginning and moves it into a new
one.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicLayer


class RoomyLayer(DynamicLayer):
    """A ``DynamicLayer`` whose keys and values are the first ``length`` tokens of
    buffers with room for more. Buffers that fill are moved into ones with the
    first room again, or as much room as they hold when that is more (so growth
    stays amortised when the room was guessed short)."""

    def __init__(
        self, key_buffer: torch.Tensor, value_buffer: torch.Tensor, length: int
    ) -> None:
        super().__init__()
        # The room a move adds: what the buffers were given at first.
        self._room = key_buffer.shape[-2] - length
        self._adopt(key_buffer, value_buffer, length)

    def _adopt(
        self, key_buffer: torch.Tensor, value_buffer: torch.Tensor, length: int
    ) -> None:
        self._key_buffer = key_buffer
        self._value_buffer = value_buffer
        self._fill(length)
        self.device = key_buffer.device
        self.is_initialized = True

    def _move(self, keys: torch.Tensor, values: torch.Tensor, room: int) -> None:
        self._adopt(*buffers(keys, values, room), keys.shape[-2])

    def _fill(self, length: int) -> None:
        self.keys = self._key_buffer[..., :length, :]
        self.values = self._value_buffer[..., :length, :]

    def _in_buffer(self) -> bool:
        """Whether ``keys``/``values`` still are the beginning of the buffers (a
        crop shortens them in place; selection and reordering make new tensors)."""
        return all(
            held.data_ptr() == kept.data_ptr()
            and held.shape[:-2] == kept.shape[:-2]
            and held.stride() == kept.stride()
            for held, kept in (
                (self.keys, self._key_buffer),
                (self.values, self._value_buffer),
            )
        )

    def update(
        self,
        key_states: torch.Tensor,
        value_states: torch.Tensor,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized or self.keys is None:
            self._move(key_states, value_states, self._room)
            return self.keys, self.values
        length = self.keys.shape[-2]
        added = key_states.shape[-2]
        if not self._in_buffer() or length + added > self._key_buffer.shape[-2]:
            self._move(self.keys, self.values, added + max(self._room, length))
        self._key_buffer[..., length : length + added, :] = key_states
        self._value_buffer[..., length : length + added, :] = value_states
        self._fill(length + added)
        return self.keys, self.values


def buffers(
    keys: torch.Tensor,
    values: torch.Tensor,
    room: int,
    *,
    rows: int | None = None,
    length: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Buffers of ``rows`` rows (default: the keys') starting with ``keys`` and
    ``values`` (repeated to every row when they have one), then zeros up to
    ``length`` tokens (default: theirs), then ``room`` tokens."""
    held = keys.shape[-2]
    length = held if length is None else length
    shape = (
        keys.shape[0] if rows is None else rows,
        *keys.shape[1:-2],
        length + max(0, room),
        keys.shape[-1],
    )
    key_buffer = keys.new_empty(shape)
    value_buffer = values.new_empty(shape)
    for buffer, tensor in ((key_buffer, keys), (value_buffer, values)):
        buffer[..., :held, :] = tensor
        # The gap is masked out, but a masked position's weight times NaN from
        # uninitialised memory would still be NaN.
        buffer[..., held:length, :] = 0
    return key_buffer, value_buffer


def behind(prefix: Any, rows: int, *, length: int, room: int) -> Any:
    """A ``DynamicCache`` of ``rows`` rows that each hold ``prefix``'s keys and
    values (a cache of one row), then zeros up to ``length`` tokens for the
    caller to fill, with room for ``room`` more tokens."""
    from transformers import DynamicCache

    cache = DynamicCache()
    cache.layers = [
        RoomyLayer(
            *buffers(layer.keys, layer.values, room, rows=rows, length=length), length
        )
        for layer in prefix.layers
    ]
    return cache
