from __future__ import annotations

import pytest

from workers.nlp.offline import apertium
from workers.nlp.offline.apertium import ApertiumTranslationStep, TranslationUnavailable


@pytest.fixture
def fresh_probe():
    # The binary and its modes are looked up once per process; tests that fake
    # them must not leak into others.
    apertium.binary.cache_clear()
    apertium.available_modes.cache_clear()
    yield
    apertium.binary.cache_clear()
    apertium.available_modes.cache_clear()


def test_german_is_never_available(fresh_probe):
    # Debian ships no German pair: whatever is installed, de->en is refused.
    with pytest.raises(TranslationUnavailable, match="no translation model installed"):
        ApertiumTranslationStep("de", "en")


def test_without_apertium_nothing_is_available(fresh_probe, monkeypatch):
    monkeypatch.setattr(apertium.shutil, "which", lambda name: None)
    assert apertium.available_modes() == frozenset()
    with pytest.raises(
        TranslationUnavailable, match=r"no translation model installed for es->en"
    ):
        apertium.apertium_step("offline:apertium@es-en", None)


def test_a_pair_is_needed(fresh_probe):
    with pytest.raises(ValueError, match="language pair"):
        apertium.apertium_step("offline:apertium", None)


@pytest.mark.skipif(
    "spa-eng" not in apertium.available_modes(), reason="apertium-eng-spa not installed"
)
def test_spanish_to_english(fresh_probe):
    step = apertium.apertium_step("offline:apertium@es-en", None)
    assert step.model_id == "apertium:spa-eng"
    results = step(["Hola, mi pedido llegó roto y quiero un reembolso.", ""])
    assert results[0]["source_language"] == "es"
    assert results[0]["target_language"] == "en"
    assert results[0]["skipped"] is False
    text = results[0]["text"].lower()
    assert "hello" in text
    assert "broken" in text
    assert results[1] == {
        "source_language": "es",
        "target_language": "en",
        "text": "",
        "skipped": True,
        "reason": "empty text",
        "segments": 0,
    }
