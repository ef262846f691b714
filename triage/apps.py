from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "triage"
    verbose_name = "Support triage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from triage.webhooks import logredact

        # After LOGGING is applied: request paths in logs lose webhook secrets.
        logredact.install()
