from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Prefetch every configured model (TRIAGE_MODELS) into the Hugging Face cache "
        "or --dest, for an air-gapped GPU host."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dest", type=Path, default=None)
        parser.add_argument(
            "--languages",
            default="",
            help="customer languages to fetch translation models for, e.g. de,fr,es "
            "(default: TRIAGE_LANGUAGES)",
        )

    def handle(self, *args, dest: Path | None, languages: str = "", **options) -> None:
        from workers.config import language_pairs
        from workers.nlp.download import download

        wanted = [code.strip() for code in languages.split(",") if code.strip()]
        try:
            fetched = download(
                settings.TRIAGE_MODELS,
                dest,
                language_pairs=language_pairs(wanted or None),
            )
        except Exception as exc:
            raise CommandError(str(exc)) from exc
        for line in fetched:
            self.stdout.write(str(line))
        self.stdout.write(self.style.SUCCESS(f"{len(fetched)} model(s) ready."))
