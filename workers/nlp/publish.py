"""Putting a converted model directory in place so that no reader ever sees half
of it: written under a temporary name beside the target, then renamed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path


def publish_dir(built: Path, target: Path, *, done: Callable[[], bool]) -> None:
    """Replace ``target`` with the finished directory ``built`` (same filesystem).

    Should the rename fail because another process put its own conversion there
    meanwhile, that one is as good as ours when ``done()`` says it is complete.
    """
    built.chmod(0o755)
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    try:
        built.rename(target)
    except OSError:
        if not done():
            raise
