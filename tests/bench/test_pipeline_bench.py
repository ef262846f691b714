"""The pipeline benchmark's inputs: the samples as ingest stores them, and its
``--models`` argument. Speed is not measured (that is the bench's job)."""

from __future__ import annotations

import pytest

from bench.pipeline import (
    SAMPLES,
    BenchArgumentError,
    argument_parser,
    read_samples,
    resolve_models,
)


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


def test_device_and_dtype_default_to_the_workers_variables(monkeypatch):
    monkeypatch.delenv("TRIAGE_DEVICE", raising=False)
    monkeypatch.delenv("TRIAGE_DTYPE", raising=False)
    args = argument_parser().parse_args([])
    assert (args.device, args.dtype) == ("auto", "auto")
    # A shell that keeps every model in float32 gets float32 from the bench too
    # (it once measured bfloat16 drafts there without a word).
    monkeypatch.setenv("TRIAGE_DEVICE", "cpu")
    monkeypatch.setenv("TRIAGE_DTYPE", "float32")
    args = argument_parser().parse_args([])
    assert (args.device, args.dtype) == ("cpu", "float32")
    assert argument_parser().parse_args(["--dtype", "auto"]).dtype == "auto"


def test_the_draft_engine_named_for_a_server(monkeypatch):
    """The side-by-side table names the engine that drafted; a server's client is
    held by the draft step, not loaded as a model (it once printed "-")."""
    from bench.backends import draft_engines
    from workers.nlp.cache import clear_cache, load_once
    from workers.nlp.offline.draft import DraftStep

    monkeypatch.setenv("TRIAGE_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TRIAGE_OPENAI_MODEL", "smollm2")
    clear_cache()
    try:
        assert draft_engines() == []
        load_once(("offline", "draft", "offline:openai"), lambda: DraftStep("openai"))
        assert draft_engines() == ["OpenAIChat@smollm2"]
    finally:
        clear_cache()
