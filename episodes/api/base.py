"""The router every API module registers on (one router, so one path can serve GET and PATCH), plus helpers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import conditional_page
from ninja import Router
from ninja.decorators import decorate_view

from episodes.auth import OptionalTokenAuth, TokenAuth
from episodes.schemas import ErrorOut

router = Router()

TOKEN = TokenAuth()
OPTIONAL = [OptionalTokenAuth()]
PUBLIC_MAX_AGE = 60

# Documented error responses, so clients (and the schema fuzzer) know the shape of every 4xx.
READ_ERRORS: dict[int, type] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, type] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut,
                                 413: ErrorOut, 422: ErrorOut}  # fmt: skip


def _cache_headers(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        patch_vary_headers(response, ["Authorization"])
        if request.headers.get("Authorization"):
            # A producer's view includes drafts: never let a shared cache keep it.
            patch_cache_control(response, private=True, no_cache=True)
        elif 200 <= response.status_code < 300:
            patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
        return response

    return wrapper


def cached_get(func: Any) -> Any:
    """ETag from the body and 304 on ``If-None-Match``; public max-age for anonymous readers."""
    return decorate_view(_cache_headers, conditional_page)(func)
