"""`Authorization: Bearer trg_…` for scripts; sessions for the browsable API."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from triage.services.api_tokens import TokenInvalid, api_token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send `Bearer <token>`.")
        try:
            token = api_token_authenticate(header[1].decode("ascii"))
        except (TokenInvalid, UnicodeDecodeError) as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
