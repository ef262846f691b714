from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from triage.models import Message
from triage.services import message_enqueue_triage, message_triage_retry


class Command(BaseCommand):
    help = (
        "Triage messages still waiting (status received). Runs the models in this "
        "process by default; --enqueue hands them to the Celery workers instead."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--enqueue", action="store_true")
        parser.add_argument(
            "--retry-failed", action="store_true", help="also retry failed messages"
        )
        parser.add_argument("--batch-size", type=int, default=8)

    def handle(self, *args, enqueue: bool, retry_failed: bool, batch_size: int, **o):
        inbound = Message.objects.filter(direction=Message.Direction.INBOUND)
        if retry_failed:
            failed = inbound.filter(triage_status=Message.TriageStatus.FAILED)
            revived = message_triage_retry(
                list(failed.values_list("pk", flat=True)), enqueue=enqueue
            )
            self.stdout.write(f"Retrying {len(revived)} failed message(s).")
            if enqueue:
                return
        ids = list(
            inbound.filter(triage_status=Message.TriageStatus.RECEIVED)
            .order_by("received_at")
            .values_list("pk", flat=True)
        )
        if not ids:
            self.stdout.write("Nothing to triage.")
            return
        if enqueue:
            sent = sum(message_enqueue_triage(pk) for pk in ids)
            self.stdout.write(self.style.SUCCESS(f"Enqueued {sent} of {len(ids)}."))
            return
        from workers.tasks import triage_messages  # loads torch: CLI only

        done = 0
        with tqdm(total=len(ids), desc="triage", unit="mail", disable=None) as bar:
            for start in range(0, len(ids), batch_size):
                batch = ids[start : start + batch_size]
                done += triage_messages(batch, whole=True)
                bar.update(len(batch))
        failed = Message.objects.filter(
            pk__in=ids, triage_status=Message.TriageStatus.FAILED
        ).count()
        self.stdout.write(
            self.style.SUCCESS(f"Triaged {done} message(s); {failed} failed.")
        )
