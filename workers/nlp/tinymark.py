"""Is this model one of the tiny random-weight test models? (Their builders live in
``workers.nlp_testing.tiny``, outside the runtime package.)

The dashboard warns on results of such models; the marker file is how a worker
knows, whoever built the model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MARKER = "triage_tiny.json"


def is_tiny(model: str | os.PathLike[str]) -> bool:
    """True if ``model`` is a local directory written by the tiny-model builder."""
    return marker_version(Path(model)) is not None


def marker_version(model_dir: Path) -> int | None:
    """The builder version recorded in ``model_dir``'s marker, None if unmarked."""
    try:
        data = json.loads((model_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tiny") is not True:
        return None
    version = data.get("builder_version")
    return version if isinstance(version, int) else None
