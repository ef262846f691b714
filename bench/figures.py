"""Where a benchmark's figures go: ``bench/results/<name>.json`` (git-ignored) or
the ``--out`` path given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_figures(path: Path, figures: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"written to {path}")
