"""Stages: which steps an encoder host runs and which a generation host runs.

A message's steps can be split over two tasks on two queues (``gpu-encode``,
``gpu-generate``) so that hosts specialise: the encode stage runs every step
whose spec says ``stage = "encode"`` (language, translation, the classifiers,
extractive answer), saves them, and the generate stage runs the rest (summary,
draft) on what was saved. A generate step may read encode steps; no encode step
may read a generate step (checked here, so a step added as a file cannot break
the split).
"""

from __future__ import annotations

from typing import Literal

from workers.nlp.registry import RegistryError, specs

Stage = Literal["encode", "generate"]
STAGES: tuple[Stage, ...] = ("encode", "generate")


def stage_steps(stage: Stage) -> tuple[str, ...]:
    """The registered steps of ``stage``, in pipeline order."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    check_stages()
    return tuple(spec.name for spec in specs() if spec.stage == stage)


def stage_of(step: str) -> Stage:
    for spec in specs():
        if spec.name == step:
            return spec.stage
    raise ValueError(f"unknown step {step!r}")


def check_stages() -> None:
    """Refuse an encode step that reads a generate step: the encode task would
    run it before the generate stage has anything to give it."""
    generate = {spec.name for spec in specs() if spec.stage == "generate"}
    for spec in specs():
        if spec.stage not in STAGES:
            raise RegistryError(f"step {spec.name!r} has unknown stage {spec.stage!r}")
        needs = set(spec.requires) | set(spec.inputs)
        if spec.stage == "encode" and needs & generate:
            raise RegistryError(
                f"encode step {spec.name!r} reads generate step(s) "
                f"{sorted(needs & generate)}"
            )
