from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from triage.mime import parse_email
from triage.quoting import strip_quoted
from workers import contract


class Command(BaseCommand):
    help = (
        "Run the whole triage pipeline on one .eml file without storing anything, "
        "and print the result (for trying models and for scripts)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="machine-readable")

    def handle(self, *args, file: Path, json: bool, **options) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        self._offline_fallback()
        from workers.config import pipeline_config  # loads torch lazily: CLI only
        from workers.nlp import run_pipeline

        parsed = parse_email(file.read_bytes())
        email = contract.email_input(
            strip_quoted(parsed.text_body),
            parsed.subject,
            parsed.from_name,
            parsed.from_address,
        )
        outcome = run_pipeline([email], pipeline_config())[0]
        report = {
            "file": str(file),
            "subject": parsed.subject,
            "from": parsed.from_address,
            "malformed": parsed.is_malformed,
            "steps": outcome,
        }
        if json:
            self.stdout.write(_dumps(report))
            return
        self._print(report)

    def _offline_fallback(self) -> None:
        """No profile chosen (TRIAGE_MODELS unset, the settings' models still the
        Hub defaults) and no Hub: the offline profile (DESIGN §8) rather than Hub
        ids that cannot load."""
        import os

        from django.conf import settings

        from triage.model_profiles import (
            hub_reachable,
            offline_profile_installed,
            resolve_models,
        )

        hub_defaults = resolve_models("hub", tiny_dir=settings.TRIAGE_TINY_DIR)
        chosen = "TRIAGE_MODELS" in os.environ or hub_defaults != settings.TRIAGE_MODELS
        if chosen or hub_reachable():
            return
        if not offline_profile_installed():
            self.stderr.write(
                "Hugging Face Hub unreachable and the offline profile's packages are "
                "not installed: steps whose model cannot load will fail."
            )
            return
        os.environ["HF_HUB_OFFLINE"] = "1"
        settings.TRIAGE_MODELS = resolve_models(
            "offline",
            tiny_dir=settings.TRIAGE_TINY_DIR,
            heads_dir=settings.TRIAGE_HEADS_DIR,
        )
        self.stderr.write(
            "Hugging Face Hub unreachable and TRIAGE_MODELS unset: using the OFFLINE "
            "profile (MiniLM heads, spaCy, SmolLM2 or template; translation only "
            "where apertium has the pair)."
        )

    def _print(self, report: dict) -> None:
        self.stdout.write(f"{report['file']}: {report['subject']} <{report['from']}>")
        for step, outcome in report["steps"].items():
            model = outcome.get("model") or "-"
            if outcome.get("tiny"):
                model += " (TINY: random weights, meaningless)"
            if outcome.get("error"):
                self.stdout.write(
                    self.style.ERROR(f"  {step:<12} FAILED {outcome['error']}")
                )
                continue
            result = _dumps(outcome.get("result"), indent=None)
            if len(result) > 300:
                result = result[:297] + "..."
            self.stdout.write(f"  {step:<12} {result}\n  {'':<12} model: {model}")


def _dumps(value: object, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)
