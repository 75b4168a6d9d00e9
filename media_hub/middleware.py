"""Request-level glue: the API's one JSON error shape outside django-ninja; X-Forwarded-Proto from trusted proxies."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from feeds.client_ip import parse_address

REASONS = {404: ("not_found", "Not found."), 405: ("method_not_allowed", "This method is not allowed here.")}


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code, message = REASONS.get(response.status_code, ("http_error", "The request could not be served."))
            body = {"error": {"code": code, "message": message}}
            replacement = HttpResponse(json.dumps(body), status=response.status_code, content_type="application/json")
            for header in ("Allow", "WWW-Authenticate", "Vary"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response


class ForwardedProtoMiddleware:
    """Drop X-Forwarded-Proto unless the peer is a trusted proxy, so only the load balancer can say "https".

    Django's SECURE_PROXY_SSL_HEADER trusts the header from anyone; this ties it to TRUSTED_PROXIES.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_X_FORWARDED_PROTO" in request.META:
            peer = parse_address(str(request.META.get("REMOTE_ADDR", "")))
            if peer is None or not any(peer in network for network in settings.TRUSTED_PROXIES):
                del request.META["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(request)


# The longest URL answered: what common proxies pass (nginx's 8 KiB buffers). gunicorn runs with
# --limit-request-line 0 so that longer ones reach this check and get a JSON 414, not gunicorn's HTML page.
MAX_URL_BYTES = 8190


class UrlLengthMiddleware:
    """414 with the API's JSON error shape for over-long URLs (e.g. an article looked up by a long ?url=)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = str(request.META.get("RAW_URI") or "") or request.get_full_path()
        if len(raw) > MAX_URL_BYTES:
            body = {"error": {"code": "uri_too_long", "message": (
                f"The URL is longer than {MAX_URL_BYTES} bytes. To find an article by a long address, "
                'POST {"url": …} to /api/v1/articles/lookup.'
            )}}  # fmt: skip
            return HttpResponse(json.dumps(body), status=414, content_type="application/json")
        return self.get_response(request)
