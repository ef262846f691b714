from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from triage.model_profiles import hub_reachable, resolve_models

BANNER = "!" * 78


class Command(BaseCommand):
    help = (
        "Set up a demo: an admin login (printed), the sample emails ingested and "
        "triaged. `make demo` runs this, then serves the dashboard."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--samples", default=str(settings.BASE_DIR / "samples"), help="folder"
        )
        parser.add_argument("--username", default="admin")

    def handle(self, *args, samples: str, username: str, **options) -> None:
        self._pick_models()
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@localhost"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        call_command("ingest", samples, source="demo")
        call_command("triage")
        self.stdout.write(
            self.style.SUCCESS(
                "\nDashboard: http://127.0.0.1:8000/admin/triage/ticket/\n"
                f"Login:     {username}\nPassword:  {password}\n"
            )
        )

    def _pick_models(self) -> None:
        if "TRIAGE_MODELS" in os.environ:
            self.stdout.write(f"Models: TRIAGE_MODELS={settings.TRIAGE_MODELS_PROFILE}")
            return
        if hub_reachable():
            self.stdout.write("Hugging Face Hub reachable: using the seed's models.")
            return
        # Offline: never try to download; tiny local models keep the demo runnable.
        os.environ["HF_HUB_OFFLINE"] = "1"
        call_command("build_tiny_models")
        settings.TRIAGE_MODELS = resolve_models(
            "tiny", tiny_dir=settings.TRIAGE_TINY_DIR
        )
        self.stderr.write(
            self.style.ERROR(
                f"\n{BANNER}\n"
                "The Hugging Face Hub is unreachable, so this demo triages with TINY\n"
                "RANDOM-WEIGHT models. Sentiment, entities and answers you will see\n"
                "are MEANINGLESS: they only show the pipeline working end to end.\n"
                "Set TRIAGE_MODELS=hub on a host with network (or point\n"
                "TRIAGE_MODEL_<STEP> at local model folders) for real results.\n"
                f"{BANNER}\n"
            )
        )
