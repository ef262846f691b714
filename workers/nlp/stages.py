"""Stages: which steps an encoder host runs and which a generation host runs.

A message's steps can be split over two tasks on two queues (``gpu-encode``,
``gpu-generate``) so that hosts specialise: the encode stage runs the encoder
steps (language, translation, the classifiers, extractive answer), saves them,
and the generate stage runs the rest (summary, draft) on what was saved. A
step's spec says which (``stage``); a step that reads a generate step's result
runs in the generate stage whatever its spec says, since the encode stage
would run it before there is anything to read (a step added as a file cannot
break the split).
"""

from __future__ import annotations

from typing import Literal

from workers.nlp.registry import specs

Stage = Literal["encode", "generate"]
STAGES: tuple[Stage, ...] = ("encode", "generate")


def stages() -> dict[str, Stage]:
    """step -> the stage it runs in, for every registered step (pipeline order)."""
    found: dict[str, Stage] = {}
    for spec in specs():  # in order: what a step reads is decided before it
        if spec.stage not in STAGES:
            raise ValueError(f"step {spec.name!r} has unknown stage {spec.stage!r}")
        reads = (*spec.requires, *spec.inputs)
        late = any(found.get(step) == "generate" for step in reads)
        found[spec.name] = "generate" if late else spec.stage
    return found


def stage_steps(stage: Stage) -> tuple[str, ...]:
    """The registered steps of ``stage``, in pipeline order."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    return tuple(step for step, where in stages().items() if where == stage)


def stage_of(step: str) -> Stage:
    try:
        return stages()[step]
    except KeyError:
        raise ValueError(f"unknown step {step!r}") from None
