from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Build tiny random-weight models of the real architectures (for tests and "
        "offline smoke runs; their outputs are meaningless)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dest", type=Path, default=settings.TRIAGE_TINY_DIR)
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, dest: Path, force: bool, **options) -> None:
        from workers.nlp_testing.tiny import build_tiny_models

        models = build_tiny_models(dest, force=force)
        self.stdout.write(json.dumps(models, indent=2))
        self.stdout.write(
            self.style.WARNING(
                "These models have random weights. Use TRIAGE_MODELS=tiny only to "
                "exercise the pipeline, never to judge mail."
            )
        )
