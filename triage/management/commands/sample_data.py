from __future__ import annotations

from django.core.management.base import BaseCommand

from triage.services.sample_data import sample_data_load


class Command(BaseCommand):
    help = (
        "Fill the demo with a few dozen varied sample tickets (customers with "
        "history, several languages, notes, drafts, a sent reply, an SLA breach, "
        "spam). Labels are fixtures, not model output. Safe to run again."
    )

    def handle(self, *args, **options) -> None:
        summary = sample_data_load(progress=lambda line: self.stdout.write(f"  {line}"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Sample data: {summary.tickets} tickets, {summary.mails_new} new "
                f"mail(s), {len(summary.steps)} change(s)"
                + ("" if summary.mails_new or summary.steps else " (already loaded)")
            )
        )
