"""The ordered registry of triage steps: one module per step, found, not listed.

Every module of the ``workers.nlp.steps`` package that exports ``STEP`` (a
:class:`workers.nlp.steps.base.Step`) is a step, and so is every module of the
packages named in the ``TRIAGE_STEP_PACKAGES`` environment variable
(comma-separated importable package names). They run in ``STEP.order``.
Adding a step is adding a file (workers/nlp/README.md).

Importing a step module loads no model, torch or transformers: models load on
first use through ``workers.nlp.cache``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import pkgutil
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from workers.contract import MAX_STEP_NAME, OFFLINE_PREFIX
from workers.nlp.cache import clear_cache, load_once
from workers.nlp.config import PipelineConfig
from workers.nlp.offline import OfflineSpecError
from workers.nlp.steps.base import Step

BUILTIN_PACKAGE = "workers.nlp.steps"
PACKAGES_ENV = "TRIAGE_STEP_PACKAGES"

__all__ = [
    "STEPS",
    "Step",
    "clear_cache",
    "get_spec",
    "get_step",
    "load_once",
    "specs",
    "step_names",
]


class RegistryError(ValueError):
    pass


def specs() -> tuple[Step, ...]:
    """Every registered step, in pipeline order."""
    return _specs(os.environ.get(PACKAGES_ENV, ""))


def step_names() -> tuple[str, ...]:
    return tuple(spec.name for spec in specs())


def get_spec(name: str) -> Step:
    for spec in specs():
        if spec.name == name:
            return spec
    raise ValueError(f"unknown step {name!r}; known: {', '.join(step_names())}")


def reload() -> None:
    """Find the steps again (after ``TRIAGE_STEP_PACKAGES`` changed; tests)."""
    _specs.cache_clear()


@functools.cache
def _specs(packages: str) -> tuple[Step, ...]:
    found: dict[str, Step] = {}
    names = [BUILTIN_PACKAGE, *(p.strip() for p in packages.split(",") if p.strip())]
    for package_name in names:
        package = importlib.import_module(package_name)
        for info in sorted(
            pkgutil.iter_modules(package.__path__), key=lambda m: m.name
        ):
            if info.name.startswith("_") or info.name == "base":
                continue
            module = importlib.import_module(f"{package_name}.{info.name}")
            spec = getattr(module, "STEP", None)
            if spec is None:
                continue
            if not isinstance(spec, Step):
                raise RegistryError(f"{module.__name__}.STEP is not a Step")
            if spec.name in found:
                raise RegistryError(
                    f"two steps named {spec.name!r}: {module.__name__} and "
                    f"{type(found[spec.name]).__module__}"
                )
            if not spec.name or len(spec.name) > MAX_STEP_NAME:
                raise RegistryError(
                    f"step name {spec.name!r} must have 1 to {MAX_STEP_NAME} characters"
                )
            found[spec.name] = spec
    ordered = tuple(sorted(found.values(), key=lambda s: (s.order, s.name)))
    _check_order(ordered)
    return ordered


def _check_order(ordered: tuple[Step, ...]) -> None:
    position = {spec.name: i for i, spec in enumerate(ordered)}
    for i, spec in enumerate(ordered):
        for needed in (*spec.requires, *spec.inputs):
            if needed not in position:
                raise RegistryError(f"step {spec.name!r} reads unknown step {needed!r}")
            if position[needed] >= i:
                raise RegistryError(
                    f"step {spec.name!r} (order {spec.order}) reads {needed!r}, "
                    "which does not run before it"
                )


def backends() -> Mapping[str, tuple[str, ...]]:
    """step -> its configurable backends (the first is the default)."""
    return MappingProxyType(
        {spec.name: tuple(spec.backends) for spec in specs() if spec.backends}
    )


def get_step(step: str, model: str) -> Any:
    """The loaded runner of ``step`` served by ``model`` with the step's default
    backend (a Hub id, a local path or an ``offline:`` spec); once per process."""
    spec = get_spec(step)
    if not model.strip().startswith(OFFLINE_PREFIX) and not spec.backends:
        raise ValueError(f"step {step!r} has no model backends")
    return spec.load(PipelineConfig(models={step: model}))


def offline_steps() -> tuple[str, ...]:
    """The steps an ``offline:`` setting can serve (translation per language pair,
    through its translator)."""
    return tuple(
        spec.name for spec in specs() if spec.offline or spec.name == "translation"
    )


def build_offline(step: str, setting: str, config: PipelineConfig | None = None) -> Any:
    """The step ``step`` built from an ``offline:`` setting (once per process, as
    the pipeline builds it). Refuses a setting the step cannot take before loading
    anything."""
    spec = get_spec(step)
    if spec.offline is None:
        raise OfflineSpecError(
            f"no offline model for step {step!r}; offline steps: "
            + ", ".join(s.name for s in specs() if s.offline)
        )
    loader = inspect.getattr_static(spec, "offline")
    return loader(setting, config or PipelineConfig(models={}))


# The steps whose runner ``get_step`` builds from a model alone (plain texts in).
STEPS: tuple[str, ...] = ("sentiment", "entities", "answer")
