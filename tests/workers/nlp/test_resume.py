"""run_pipeline(prior=...): a stage or a retried step runs on results saved
earlier, as if the whole pipeline had run at once (issue 14, worker topology)."""

from __future__ import annotations

import json

import pytest

from workers.nlp import run_pipeline
from workers.nlp.stages import stage_of, stage_steps
from workers.nlp.steps.base import Step

LABELS = ("refund", "exchange", "wrong item", "damaged", "other")


def comparable(outcome: dict) -> dict:
    return {k: v for k, v in outcome.items() if k != "duration_ms"}


def test_the_stages_split_the_registered_steps():
    encode, generate = stage_steps("encode"), stage_steps("generate")
    assert generate == ("summary", "draft")
    assert encode[:2] == ("language", "translation")
    assert not set(encode) & set(generate)
    assert stage_of("draft") == "generate" and stage_of("intent") == "encode"
    with pytest.raises(ValueError):
        stage_steps("decode")  # type: ignore[arg-type]


def test_generating_on_saved_encoder_results_equals_one_run(samples, make_config):
    emails = list(samples.values())
    config = make_config(intent_labels=LABELS)
    whole = run_pipeline(emails, config)
    encoded = run_pipeline(emails, config, steps=stage_steps("encode"))
    # As the rows store them, and as the generate task reads them back.
    saved = json.loads(json.dumps(encoded))
    generated = run_pipeline(emails, config, steps=stage_steps("generate"), prior=saved)
    translated = 0
    for one, encode, generate in zip(whole, encoded, generated, strict=True):
        assert set(generate) == {"summary", "draft"}
        for step, outcome in {**encode, **generate}.items():
            assert comparable(outcome) == comparable(one[step]), step
        translated += generate["draft"]["on"] == "translation"
    # The German sample's draft read the saved translation, as in one run.
    assert translated >= 1


def test_saved_steps_are_not_run_again(samples, make_config, monkeypatch):
    emails = [samples["01-bumblebee"], samples["02-german-complaint"]]
    config = make_config(intent_labels=LABELS)
    first = json.loads(json.dumps(run_pipeline(emails, config)))
    ran: list[str] = []
    from workers.nlp import pipeline

    original = pipeline._run_step

    def spy(spec, batch):
        ran.append(spec.name)
        return original(spec, batch)

    monkeypatch.setattr(pipeline, "_run_step", spy)
    prior = [{s: o for s, o in outcomes.items() if s != "draft"} for outcomes in first]
    again = run_pipeline(emails, config, steps=["draft"], prior=prior)
    # The draft's required language step came from the saved results.
    assert ran == ["draft"]
    for before, after in zip(first, again, strict=True):
        assert comparable(after["draft"]) == comparable(before["draft"])
    with pytest.raises(ValueError, match="prior outcomes"):
        run_pipeline(emails, config, steps=["draft"], prior=prior[:1])


def test_a_step_that_reads_a_generate_step_runs_in_the_generate_stage(monkeypatch):
    class ReadsTheDraft(Step):
        name = "reads_draft"
        label = "Reads the draft"
        order = 90
        result_type = dict
        inputs = ("draft",)

    class ReadsTheIntent(ReadsTheDraft):
        name = "reads_intent"
        inputs = ("intent",)

    from workers.nlp import stages

    registered = stages.specs()
    monkeypatch.setattr(
        stages, "specs", lambda: (*registered, ReadsTheDraft(), ReadsTheIntent())
    )
    assert stage_steps("generate") == ("summary", "draft", "reads_draft")
    assert stage_of("reads_intent") == "encode"
