"""Where a benchmark's figures go: ``bench/results/<name>.json`` (git-ignored) or
the ``--out`` path given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.host import describe, host


def write_figures(path: Path, figures: dict[str, Any]) -> None:
    """``figures`` as JSON at ``path``, with the machine they were measured on."""
    figures.setdefault("host", host())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"measured on {describe(figures['host'])}; written to {path}")
