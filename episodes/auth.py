"""Bearer-token authentication for the API.

``TokenAuth()`` requires a valid token (producer endpoints). ``OptionalTokenAuth()`` lets anonymous readers in
and identifies producers, so the same read endpoints show a producer their own drafts; a token that is sent but
wrong is still refused (401), never silently treated as anonymous.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from ninja.security import HttpBearer

from episodes.services.tokens import api_token_authenticate

ANONYMOUS = AnonymousUser()


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        user = api_token_authenticate(raw=token.strip())
        if user is not None:
            request.user = user
        return user


class OptionalTokenAuth(TokenAuth):
    def __call__(self, request: HttpRequest) -> Any | None:
        if not request.headers.get(self.header):
            return ANONYMOUS
        return super().__call__(request)


def request_user(request: HttpRequest) -> Any:
    """The authenticated user, or AnonymousUser."""
    auth = getattr(request, "auth", None)
    return auth if auth is not None else ANONYMOUS
