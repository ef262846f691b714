from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from triage.services import email_ingest


class Command(BaseCommand):
    help = "Ingest .eml files (or every .eml in the given folders) as inbound mail."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--source", default="file")

    def handle(self, *args, paths: list[Path], source: str, **options) -> None:
        files: list[Path] = []
        for path in paths:
            if path.is_dir():
                files.extend(sorted(p for p in path.rglob("*.eml") if p.is_file()))
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"No such file or folder: {path}")
        created = duplicates = malformed = 0
        for file in tqdm(files, desc="ingest", unit="mail", disable=None):
            result = email_ingest(file.read_bytes(), source=source)
            if not result.created:
                duplicates += 1
                continue
            created += 1
            if result.message.is_malformed:
                malformed += 1
                self.stderr.write(
                    f"{file}: stored raw but flagged malformed "
                    f"({', '.join(result.message.parse_defects)})"
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Ingested {created} new message(s) from {len(files)} file(s); "
                f"{duplicates} duplicate(s) skipped, {malformed} flagged malformed."
            )
        )
