"""The pipeline benchmark's inputs: the samples as ingest stores them, and its
``--models`` argument. Speed is not measured (that is the bench's job)."""

from __future__ import annotations

import pytest

from bench.pipeline import SAMPLES, BenchArgumentError, read_samples, resolve_models


def test_samples_are_read_as_ingest_stores_them():
    emails = read_samples(SAMPLES)
    assert len(emails) == len(list(SAMPLES.glob("*.eml")))
    by_name = {e["customer_name"]: e for e in emails}
    # The HTML-only sample reaches the models as text, as the worker gets it from
    # the stored message: no tags (the prompt once carried "<script>").
    html_only = by_name["Priya Raman"]["text"]
    assert "Please refund the duplicate charge." in html_only
    assert "<" not in html_only and "DOCTYPE" not in html_only
    assert by_name["Bumblebee"]["customer_email"].endswith("@autobots.example.com")


@pytest.mark.parametrize("spec", ["offline", "tiny-ish", '{"draft": '])
def test_models_argument(spec):
    if spec == "offline":
        models, name = resolve_models(spec)
        assert name == "offline" and models["draft"].startswith("offline:")
        return
    with pytest.raises(BenchArgumentError, match="--models"):
        resolve_models(spec)
