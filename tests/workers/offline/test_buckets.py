"""Length buckets for the MiniLM encoder: sorted, capped padding, same vectors."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers.nlp.buckets import length_buckets


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=300), max_size=200),
    st.integers(min_value=1, max_value=64),
)
def test_every_index_once_padding_and_size_capped(lengths, max_rows):
    buckets = length_buckets(lengths, max_rows=max_rows, max_tokens=2048)
    flat = [i for bucket in buckets for i in bucket]
    assert sorted(flat) == list(range(len(lengths)))
    for bucket in buckets:
        widths = [max(1, lengths[i]) for i in bucket]
        assert widths == sorted(widths)
        if len(bucket) > 1:
            padded = len(bucket) * max(widths)
            assert len(bucket) <= max_rows
            assert padded <= 2048
            assert 1 - sum(widths) / padded <= 0.2 + 1e-9


def test_mixed_lengths_are_not_padded_to_the_longest():
    lengths = [5, 300, 6, 7, 290, 5]
    buckets = length_buckets(lengths, max_rows=64)
    assert [sorted(lengths[i] for i in b) for b in buckets] == [
        [5, 5, 6, 7],
        [290, 300],
    ]


def test_batched_vectors_equal_one_at_a_time(minilm):
    texts = [
        "Hi.",
        "I demand an exchange of Megatron for the Optimus Prime figure I ordered.",
        "",
        "Please refund me.",
        "Last week I ordered an Optimus Prime action figure from your online store "
        "in Germany, and when I opened the package I found Megatron inside.",
    ]
    together = minilm.encode(texts)
    for i, text in enumerate(texts):
        alone = minilm.encode([text])[0]
        assert (together[i] - alone).abs().max() < 1e-4
    layered = minilm.encode(texts, layers=(0, -1))
    assert layered.shape == (len(texts), 2 * minilm.dimension)
