from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from triage.models import Ticket
from triage.services.sla import sla_backfill


class Command(BaseCommand):
    help = (
        "Give SLA targets (due dates) to tickets opened before SLA policies "
        "existed: run once after upgrading. Safe to run again."
    )

    def handle(self, *args, **options) -> None:
        todo = Ticket.objects.filter(first_response_due_at__isnull=True).count()
        with tqdm(total=todo, unit="ticket", disable=not todo) as bar:
            done = sla_backfill(progress=lambda n: bar.update(n - bar.n))
        self.stdout.write(self.style.SUCCESS(f"SLA targets set on {done} ticket(s)"))
