"""Security headers the dashboard needs because it displays untrusted email."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    """Sets `settings.TRIAGE_CONTENT_SECURITY_POLICY` on every response.

    Email bodies are escaped or shown in a sandboxed frame; the policy is the second
    wall should a template ever slip: no inline or foreign script runs on any page.
    A view that needs a different policy sets its own header and keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(settings, "TRIAGE_CONTENT_SECURITY_POLICY", "")
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
