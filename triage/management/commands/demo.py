from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from triage.model_profiles import hub_reachable, resolve_models

BANNER = "!" * 78


class Command(BaseCommand):
    help = (
        "Set up a demo: an admin login (printed), the sample emails ingested and "
        "triaged, then `sample_data`'s varied tickets. `make demo` runs this, then "
        "serves the dashboard."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--samples", default=str(settings.BASE_DIR / "samples"), help="folder"
        )
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="where it is served"
        )

    def handle(self, *args, samples: str, username: str, url: str, **options) -> None:
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
        # A few dozen varied tickets beside the samples (issue 15): customers with
        # history, notes, drafts, an SLA breach, spam.
        call_command("sample_data")
        base = url.rstrip("/")
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDashboard: {base}/admin/triage/ticket/\n"
                f"Login:     {username}\nPassword:  {password}\n"
            )
        )
        self.stdout.write(self._outbox_note(base))

    def _outbox_note(self, base: str) -> str:
        """Where approved replies end up, so the loop can be followed to its end."""
        backend = settings.EMAIL_BACKEND
        if backend.endswith("filebased.EmailBackend"):
            folder = Path(settings.EMAIL_FILE_PATH)
            folder.mkdir(parents=True, exist_ok=True)
            return (
                "Replies you approve are sent to a LOCAL OUTBOX, not to anyone:\n"
                f"  Outbox:    {base}/admin/triage/outbox/ (and in each ticket's "
                "conversation)\n"
                f"  Files:     {folder}/ (one file per sent email)\n"
                "A real SMTP relay is one setting away: EMAIL_BACKEND="
                "django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST "
                "(.env.example, SMTP).\n"
            )
        return (
            f"Replies you approve are sent with {backend} "
            f"(EMAIL_HOST={settings.EMAIL_HOST}:{settings.EMAIL_PORT}); sent ones "
            f"are listed at {base}/admin/triage/outbox/\n"
        )

    def _pick_models(self) -> None:
        if "TRIAGE_MODELS" in os.environ:
            profile = settings.TRIAGE_MODELS_PROFILE
            self.stdout.write(f"Models: TRIAGE_MODELS={profile}")
            if profile == "tiny":
                call_command("build_tiny_models")
                self.stderr.write(
                    self.style.ERROR(
                        f"\n{BANNER}\nTINY RANDOM-WEIGHT models: every label, entity,"
                        " answer and draft you will see is MEANINGLESS.\n"
                        f"{BANNER}\n"
                    )
                )
            return
        if hub_reachable():
            self.stdout.write("Hugging Face Hub reachable: using the seed's models.")
            return
        # Offline: never try to download.
        os.environ["HF_HUB_OFFLINE"] = "1"
        from triage.model_profiles import offline_profile_installed

        if offline_profile_installed():
            # The offline profile (DESIGN §8): real packaged models; the heads are
            # trained on the shipped labelled sentences if missing (a few seconds).
            from workers.nlp.offline.apertium import available_modes
            from workers.nlp.offline.heads import TASKS, head_path

            heads_dir = settings.TRIAGE_HEADS_DIR
            if not all(head_path(heads_dir, task).is_file() for task in TASKS):
                self.stdout.write(f"Training the offline heads in {heads_dir}")
                call_command("train_heads", out=heads_dir)
            settings.TRIAGE_MODELS = resolve_models(
                "offline", tiny_dir=settings.TRIAGE_TINY_DIR, heads_dir=heads_dir
            )
            pairs = ", ".join(sorted(available_modes())) or "none: no apertium"
            self.stdout.write("Models: OFFLINE profile (Hub unreachable)")
            self.stderr.write(
                self.style.WARNING(
                    f"\n{BANNER}\n"
                    "The Hugging Face Hub is unreachable, so this demo triages with\n"
                    "the OFFLINE profile: sentiment and intent by MiniLM + heads\n"
                    "trained on data/labelled, answer and summary by MiniLM sentence\n"
                    "selection, entities by spaCy, drafts by SmolLM2-135M (or a\n"
                    "template). Translation is LIMITED to the pairs apertium has\n"
                    f"installed ({pairs}); mail in other languages is analysed\n"
                    "untranslated. TRIAGE_MODELS=hub uses the seed's models (network\n"
                    "or a mirror), TRIAGE_MODELS=tiny the random-weight test models.\n"
                    f"{BANNER}\n"
                )
            )
            return
        # Not even the packaged models: tiny local models keep the demo runnable.
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
