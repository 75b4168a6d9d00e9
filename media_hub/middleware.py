"""Keep the API's one JSON error shape for errors raised outside django-ninja (405, unknown /api/ paths)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
