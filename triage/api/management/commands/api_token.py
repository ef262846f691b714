"""`manage.py api_token create USER NAME` prints a new token once;
`manage.py api_token revoke PREFIX` revokes one."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from triage.api.models import ApiToken
from triage.services.api_tokens import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = "Create (shown once) or revoke a personal API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "revoke"])
        parser.add_argument("target", help="username (create) or token prefix")
        parser.add_argument("name", nargs="?", default="API token")

    def handle(self, *args: Any, action: str, target: str, name: str, **kw: Any):
        if action == "create":
            try:
                user = get_user_model().objects.get(username=target)
            except get_user_model().DoesNotExist as exc:
                raise CommandError(f"No user {target!r}") from exc
            _, secret = api_token_create(user=user, name=name)
            self.stdout.write(secret)
            self.stderr.write("Shown once: store it now.")
            return
        try:
            api_token_revoke(token=ApiToken.objects.get(prefix=target))
        except ApiToken.DoesNotExist as exc:
            raise CommandError(f"No token {target!r}") from exc
        self.stdout.write(f"Revoked {target}")
