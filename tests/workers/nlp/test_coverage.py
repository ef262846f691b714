from __future__ import annotations

import logging

from workers.nlp.config import PipelineConfig
from workers.nlp.coverage import language_coverage, log_coverage
from workers.nlp.offline import apertium


def test_offline_coverage_follows_the_installed_apertium_pairs(monkeypatch):
    modes = frozenset({"spa-eng", "fr-es"})
    monkeypatch.setattr(apertium, "available_modes", lambda: modes)
    config = PipelineConfig(models={"translation": "offline:apertium@{src}-{tgt}"})
    coverage = language_coverage(config, ["de", "es", "fr"])
    assert coverage == {
        "en": "analysed directly",
        "de": None,
        "es": "translated by apertium:spa-eng",
        "fr": "translated by apertium:fr-es>spa-eng",
    }


def test_hub_coverage_needs_the_model_on_disk(tmp_path):
    (tmp_path / "opus-de-en").mkdir()
    config = PipelineConfig(models={"translation": str(tmp_path / "opus-{src}-{tgt}")})
    coverage = language_coverage(config, ["de", "nl"])
    assert coverage["de"] == f"translated by {tmp_path / 'opus-de-en'}"
    assert coverage["nl"] is None  # neither a local path nor in the HF cache


def test_the_worker_log_names_both_lists(monkeypatch, caplog):
    monkeypatch.setattr(apertium, "available_modes", lambda: frozenset({"spa-eng"}))
    config = PipelineConfig(models={"translation": "offline:apertium@{src}-{tgt}"})
    with caplog.at_level(logging.INFO, logger="workers.nlp.coverage"):
        log_coverage(config, ["es", "pl"])
    text = caplog.text
    assert "languages fully covered: en (analysed directly), es (translated by" in text
    assert "languages not analysed" in text and "pl" in text


def test_download_pairs_follow_the_languages_asked_for(settings):
    from workers.config import language_pairs

    settings.TRIAGE_AGENT_LANGUAGE = "en"
    settings.TRIAGE_ANALYSIS_LANGUAGE = "en"
    assert language_pairs(["pl", "de"]) == [
        ("de", "en"),
        ("en", "de"),
        ("en", "pl"),
        ("pl", "en"),
    ]
