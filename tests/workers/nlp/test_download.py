"""Pre-fetching models: which ids, and a fast, clear failure offline."""

from __future__ import annotations

import socket

import pytest

from workers.nlp.download import HubUnreachableError, download, is_hub_id, targets

HUB = {
    "language": "lingua",
    "translation": "Helsinki-NLP/opus-mt-{src}-{tgt}",
    "sentiment": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    "draft": "openai-community/gpt2",
    "chat": "openai-community/gpt2",  # the same id is fetched once
}


def test_targets_expand_pairs_and_skip_non_hub_values(tiny_models):
    models = {**HUB, "answer": tiny_models["answer"], "summary": "./models/bart"}
    assert targets(
        models, [("de", "en"), ("en", "de"), ("de", "en"), ("en", "en")]
    ) == [
        ("translation", "Helsinki-NLP/opus-mt-de-en"),
        ("translation", "Helsinki-NLP/opus-mt-en-de"),
        ("sentiment", "distilbert/distilbert-base-uncased-finetuned-sst-2-english"),
        ("draft", "openai-community/gpt2"),
    ]
    # Without pairs a templated setting has nothing to fetch.
    assert ("translation", "Helsinki-NLP/opus-mt-{src}-{tgt}") not in targets(HUB)


def test_is_hub_id(tiny_models):
    assert is_hub_id("openai-community/gpt2") and is_hub_id("gpt2")
    assert not is_hub_id(tiny_models["draft"])
    assert not is_hub_id("/models/x") and not is_hub_id("")
    assert not is_hub_id("not a/valid/id")


def test_download_fails_fast_and_clearly_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # Fast because nothing is tried: offline, not one connection is attempted
    # (a retrying client would try one and wait). Speed itself is not asserted.
    attempts: list[object] = []

    def refuse(sock, address):
        attempts.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    with pytest.raises(HubUnreachableError) as caught:
        download(HUB, tmp_path / "cache", language_pairs=[("de", "en")])
    assert attempts == []
    message = str(caught.value)
    assert "Helsinki-NLP/opus-mt-de-en" in message
    assert "Hub is unreachable" in message
    assert isinstance(caught.value, ConnectionError)


def test_nothing_to_fetch_is_fine(tiny_models, tmp_path):
    assert (
        download({"language": "lingua", "draft": tiny_models["draft"]}, tmp_path) == []
    )
