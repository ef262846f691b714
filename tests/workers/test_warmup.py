"""Which steps' models a worker loads at start, by the queues it consumes."""

from __future__ import annotations

import pytest

from workers.nlp.stages import stage_steps
from workers.warmup import served_steps

SINGLE = {"encode": "gpu", "generate": "gpu"}
SPLIT = {"encode": "gpu-encode", "generate": "gpu-generate"}
EVERY = [*stage_steps("encode"), *stage_steps("generate")]


@pytest.mark.parametrize(
    ("consumed", "queues", "expected"),
    [
        (["gpu", "default"], SINGLE, EVERY),
        (["gpu", "gpu-encode", "gpu-generate"], SPLIT, EVERY),
        (["gpu-encode"], SPLIT, list(stage_steps("encode"))),
        (["gpu-generate"], SPLIT, list(stage_steps("generate"))),
        # The split queues under the single topology carry no triage task.
        (["gpu-encode", "gpu-generate"], SINGLE, []),
        (["mail", "default"], SINGLE, []),
        (None, SINGLE, EVERY),
    ],
)
def test_served_steps_follow_the_queues(consumed, queues, expected):
    assert served_steps(consumed, queues) == expected


def test_the_stages_cover_every_step_once():
    assert sorted(EVERY) == sorted(set(EVERY))
    assert "draft" in stage_steps("generate") and "language" in stage_steps("encode")
