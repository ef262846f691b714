"""The key/value cache that grows in place: it holds what transformers'
DynamicLayer holds after every operation generate uses, without copying the
cache each step while it has room."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from transformers.cache_utils import DynamicLayer  # noqa: E402

from workers.nlp.engines.kv_room import RoomyLayer, behind, buffers  # noqa: E402


def states(rows: int, tokens: int, seed: int) -> tuple:
    generator = torch.Generator().manual_seed(seed)
    shape = (rows, 3, tokens, 4)
    return (
        torch.randn(shape, generator=generator),
        torch.randn(shape, generator=generator),
    )


def pair(rows: int = 2, prompt: int = 5, room: int = 3) -> tuple:
    plain = DynamicLayer()
    keys, values = states(rows, prompt, seed=0)
    plain.update(keys, values)
    roomy = RoomyLayer(*buffers(keys, values, room), prompt)
    return plain, roomy


def same(plain: DynamicLayer, roomy: RoomyLayer) -> None:
    assert roomy.get_seq_length() == plain.get_seq_length()
    assert torch.equal(roomy.keys, plain.keys)
    assert torch.equal(roomy.values, plain.values)


def test_steps_are_written_in_place_while_there_is_room():
    plain, roomy = pair(room=3)
    buffer = roomy.keys.data_ptr()
    for step in range(3):
        new = states(2, 1, seed=10 + step)
        returned = roomy.update(*new)
        plain.update(*new)
        same(plain, roomy)
        assert torch.equal(returned[0], plain.keys)
        assert roomy.keys.data_ptr() == buffer  # not copied
    # Full: the next step moves the cache into a larger buffer, and goes on.
    for step in range(12):
        new = states(2, 1 + step % 2, seed=20 + step)
        roomy.update(*new)
        plain.update(*new)
        same(plain, roomy)
    assert roomy.keys.data_ptr() != buffer


def test_operations_that_replace_the_keys_are_followed():
    plain, roomy = pair(rows=3, room=8)
    for layer in (plain, roomy):
        layer.crop(-2)
    same(plain, roomy)
    new = states(3, 1, seed=1)
    plain.update(*new)
    roomy.update(*new)
    same(plain, roomy)

    index = torch.tensor([2, 0])
    for layer in (plain, roomy):
        layer.batch_select_indices(index)
    new = states(2, 2, seed=2)
    plain.update(*new)
    roomy.update(*new)
    same(plain, roomy)

    for layer in (plain, roomy):
        layer.batch_repeat_interleave(2)
    new = states(4, 1, seed=3)
    plain.update(*new)
    roomy.update(*new)
    same(plain, roomy)

    for layer in (plain, roomy):
        layer.reset()
    new = states(1, 4, seed=4)
    plain.update(*new)
    roomy.update(*new)
    same(plain, roomy)


def test_behind_repeats_the_prefix_then_zeros_then_room():
    from transformers import DynamicCache

    prefix = DynamicCache()
    keys, values = states(1, 4, seed=5)
    prefix.update(keys, values, 0)
    cache = behind(prefix, 3, length=6, room=2)
    (layer,) = cache.layers
    assert cache.get_seq_length() == 6
    assert layer.keys.shape == (3, 3, 6, 4)
    assert torch.equal(layer.keys[:, :, :4], keys.expand(3, -1, -1, -1))
    assert torch.equal(layer.values[:, :, :4], values.expand(3, -1, -1, -1))
    assert not layer.keys[:, :, 4:].any() and not layer.values[:, :, 4:].any()
    buffer = layer.keys.data_ptr()
    cache.update(*states(3, 2, seed=6), 0)
    assert cache.get_seq_length() == 8 and layer.keys.data_ptr() == buffer
    # The prefix's own cache is left as it was.
    assert prefix.get_seq_length() == 4 and torch.equal(prefix.layers[0].keys, keys)
