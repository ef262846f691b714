"""Language detection with lingua."""

from __future__ import annotations

import pytest

from workers.nlp.language import DEFAULT_LANGUAGES, LanguageStep, get_detector


@pytest.fixture(scope="module")
def detector():
    # The pipeline's detector (same candidates, same cache key): loaded once.
    return get_detector("lingua", DEFAULT_LANGUAGES)


def test_samples_get_their_language(detector, samples):
    names = ["01-bumblebee", "02-german-complaint", "03-french-complaint"]
    results = detector([samples[name]["text"] for name in names])
    assert [r["language"] for r in results] == ["en", "de", "fr"]
    for result in results:
        assert result["detector"] == "lingua"
        assert type(result["confidence"]) is float
        assert 0.5 < result["confidence"] <= 1.0


@pytest.mark.parametrize("text", ["", "   ", "12345 67", "!!! ???"])
def test_nothing_to_detect_is_none(detector, text):
    assert detector([text]) == [
        {"language": None, "confidence": 0.0, "detector": "lingua"}
    ]


def test_batch_equals_single(detector, samples):
    texts = [sample["text"] for sample in samples.values()]
    assert detector(texts) == [detector([text])[0] for text in texts]


def test_one_detector_per_candidate_set(detector):
    assert get_detector("lingua", DEFAULT_LANGUAGES[::-1]) is detector


def test_describes_itself(detector):
    assert detector.model_id == "lingua"
    assert detector.revision  # the installed lingua version
    assert detector.tiny is False
    assert detector.languages == tuple(sorted(DEFAULT_LANGUAGES))


@pytest.mark.parametrize(
    ("detector_name", "languages", "message"),
    [
        ("langdetect", ("en", "de"), "unknown language detector"),
        ("lingua", ("en",), "at least two"),
        ("lingua", ("en", "xx"), "does not know"),
    ],
)
def test_bad_settings_fail_clearly(detector_name, languages, message):
    with pytest.raises(ValueError, match=message):
        LanguageStep(detector_name, languages=languages)
