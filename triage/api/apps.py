from django.apps import AppConfig


class ApiConfig(AppConfig):
    # Its own app (and migrations) so the API's tables never renumber triage's.
    name = "triage.api"
    label = "triage_api"
    verbose_name = "API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from triage.api import schema  # noqa: F401 - registers the token scheme
