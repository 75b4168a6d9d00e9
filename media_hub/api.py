"""The one NinjaAPI: mounts each app's router and turns errors into one JSON shape.

Error body: ``{"error": {"code": "validation_error", "message": "...", "fields": {"slug": ["..."]}}}``.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from episodes.api import router as episodes_router
from episodes.services.errors import DomainError
from feeds.api import router as feeds_stats_router
from imports.api import router as imports_router
from members.api import router as members_router

api = NinjaAPI(
    title="Media Hub API",
    version="1",
    description="Podcasts and explainer videos for the news site and producers' tools.",
    docs_url="/docs",
    urls_namespace="api",
)
api.add_router("/v1/", episodes_router)
api.add_router("/v1/stats/", feeds_stats_router)
api.add_router("/v1/members/", members_router)
api.add_router("/v1/imports/", imports_router)


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, error_body(exc.code, exc.message, exc.fields), status=exc.status)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for item in exc.errors:
        loc = [str(part) for part in item.get("loc", []) if part not in {"body", "query", "path", "payload"}]
        fields.setdefault(".".join(loc) or "__all__", []).append(str(item.get("msg", "Invalid value.")))
    return api.create_response(request, error_body("validation_error", "The request is not valid.", fields), status=422)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(request, error_body("unauthorized", "Authentication required."), status=401)
    response["WWW-Authenticate"] = 'Bearer realm="media-hub"'
    return response


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return api.create_response(request, error_body("too_large", "The request body is too large."), status=413)


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The database is unreachable, full (max_connections) or this process's pool stayed busy: an outage, 503."""
    body = error_body("database_unavailable", "The database is unavailable; try again shortly.")
    response = api.create_response(request, body, status=503)
    response["Retry-After"] = "5"
    return response


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, error_body("not_found", "Not found."), status=404)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, error_body("http_error", str(exc)), status=exc.status_code)
