from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from triage.mime import parse_email
from triage.quoting import strip_quoted


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
        from workers.config import pipeline_config  # loads torch lazily: CLI only
        from workers.nlp import run_pipeline

        parsed = parse_email(file.read_bytes())
        email = {
            "text": strip_quoted(parsed.text_body),
            "subject": parsed.subject,
            "customer_name": parsed.from_name,
            "customer_email": parsed.from_address,
        }
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
