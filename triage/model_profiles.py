"""Which model serves which triage step. Plain Python: settings imports it."""

from __future__ import annotations

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


class ProfileError(ValueError):
    pass


def resolve_models(spec: str, *, tiny_dir: Path) -> dict[str, str]:
    """`hub` | `tiny` | a JSON object step -> model id/path (over the hub defaults).

    `TRIAGE_MODEL_<STEP>` overrides one step whatever the profile.
    """
    spec = spec.strip()
    if spec in {"", "hub"}:
        models = {**LIBRARY_STEPS, **HUB_MODELS}
    elif spec == "tiny":
        models = {**LIBRARY_STEPS, **{s: str(tiny_dir / s) for s in HUB_MODELS}}
    elif spec.startswith("{"):
        models = {**LIBRARY_STEPS, **HUB_MODELS, **json.loads(spec)}
    else:
        raise ProfileError(
            f"TRIAGE_MODELS must be 'hub', 'tiny' or a JSON object, got {spec!r}"
        )
    for step in (*LIBRARY_STEPS, *HUB_MODELS):
        override = os.environ.get(f"TRIAGE_MODEL_{step.upper()}")
        if override:
            models[step] = override
    return models


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether huggingface.co answers on 443 (no download is attempted)."""
    if os.environ.get("HF_HUB_OFFLINE") in {"1", "true", "True"}:
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False
