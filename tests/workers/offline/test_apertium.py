from __future__ import annotations

import pytest

from tests.ci import needs
from tests.workers.offline.conftest import NO_APERTIUM
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


@needs("spa-eng" in apertium.available_modes(), NO_APERTIUM)
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
        "via": None,
    }


@pytest.mark.skipif(
    not {"fr-es", "spa-eng"} <= apertium.available_modes(),
    reason="apertium-fr-es and apertium-eng-spa not installed",
)
def test_french_goes_through_spanish(fresh_probe):
    # Debian has no French-English pair: French->Spanish->English, named as such.
    step = apertium.apertium_step("offline:apertium@fr-en", None)
    assert step.model_id == "apertium:fr-es>spa-eng"
    assert step.via == "es"
    (result,) = step(["Bonjour, la machine à café est arrivée cassée."])
    assert result["via"] == "es"
    assert "broken" in result["text"].lower()
    assert "rota" not in result["text"].lower()  # not left half-way in Spanish


@pytest.mark.skipif(
    not {"eng-spa", "es-fr"} <= apertium.available_modes(),
    reason="apertium-fr-es and apertium-eng-spa not installed",
)
def test_replies_go_back_the_same_way(fresh_probe):
    step = apertium.apertium_step("offline:apertium@en-fr", None)
    assert step.model_id == "apertium:eng-spa>es-fr"
    (result,) = step(["Thank you, we will send a new coffee machine."])
    assert result["via"] == "es"
    assert "merci" in result["text"].lower() or "café" in result["text"].lower()


def test_a_direct_pair_wins_over_a_chain(monkeypatch):
    modes = frozenset({"spa-eng", "fr-es", "es-fr", "eng-spa", "fra-eng"})
    monkeypatch.setattr(apertium, "available_modes", lambda: modes)
    assert apertium.chain_for("fr", "en") == (("fra-eng",), None)
    assert apertium.chain_for("es", "en") == (("spa-eng",), None)
    assert apertium.pairs_available(["fr", "de", "es"]) == {
        "fr": "fra-eng",
        "es": "spa-eng",
    }


def test_a_chain_needs_both_halves(monkeypatch):
    monkeypatch.setattr(apertium, "available_modes", lambda: frozenset({"fr-es"}))
    with pytest.raises(TranslationUnavailable, match="fr->en"):
        apertium.chain_for("fr", "en")


@needs("spa-eng" in apertium.available_modes(), NO_APERTIUM)
def test_a_batch_is_one_run_and_translates_as_one_at_a_time(fresh_probe, monkeypatch):
    texts = [
        "Hola, mi pedido llegó roto.\n\nQuiero un reembolso.",
        "",
        "¿Dónde está mi paquete?\n\n\nGracias,\nAna\n",
        # A text cannot forge the marker between texts: it is chosen per run.
        "Zqxbcdfghjk1\n\nEl paquete no ha llegado.",
    ]
    step = apertium.apertium_step("offline:apertium@es-en", None)
    alone = [step([text])[0] for text in texts]
    runs: list[str] = []
    real_run = step._run

    def counting(mode, text, **kwargs):
        runs.append(text)
        return real_run(mode, text, **kwargs)

    monkeypatch.setattr(step, "_run", counting)
    assert step(texts) == alone
    assert len(runs) == 1


@needs("spa-eng" in apertium.available_modes(), NO_APERTIUM)
def test_a_moved_marker_falls_back_to_one_text_at_a_time(fresh_probe, monkeypatch):
    texts = ["Hola amigo.", "Adiós amigo."]
    step = apertium.apertium_step("offline:apertium@es-en", None)
    alone = [step([text])[0] for text in texts]
    real_run = step._run
    monkeypatch.setattr(
        step,
        "_run",
        lambda mode, text, **kw: real_run(mode, text, **kw).replace("\n\nZqx", "Zqx"),
    )
    assert step(texts) == alone
