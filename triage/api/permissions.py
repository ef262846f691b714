"""The dashboard's roles, unchanged: Django permissions of the Agents/Approvers
groups. Approve/reject are checked again by the services themselves."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions, throttling
from rest_framework.request import Request

from triage.api.models import ApiToken

# Internal notes are read with their own permission, as on the dashboard.
PERM_VIEW_NOTE = "triage.view_ticketnote"


class RolePermission(permissions.BasePermission):
    """Reads need `triage.view_ticket` (and the view's `read_perm`, if any);
    writes need the view's `write_perm`."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if request.method in permissions.SAFE_METHODS:
            extra = getattr(view, "read_perm", None)
            return user.has_perm("triage.view_ticket") and (
                extra is None or user.has_perm(extra)
            )
        needed = getattr(view, "write_perm", "triage.change_ticket")
        return user.has_perm(needed)


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """One bucket per API token (per user for browser sessions)."""

    scope = "api"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
