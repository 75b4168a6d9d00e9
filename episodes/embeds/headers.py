"""Framing rules: embeds may be framed by the news site's origins only; everything else keeps X-Frame-Options.

@embeddable                       # CSP frame-ancestors 'self' <NEWS_SITE_ORIGINS>, and no X-Frame-Options
def embed_video(request, ...): ...
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.clickjacking import xframe_options_exempt

# A CSP host-source with a scheme: https://news.example, http://127.0.0.1:8080, https://*.news.example.
_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?$")


def frame_ancestors() -> str:
    """The CSP directive; origins that are not plain scheme://host[:port] are left out, never passed through."""
    origins = [o.rstrip("/") for o in getattr(settings, "NEWS_SITE_ORIGINS", []) or []]
    allowed = [o for o in origins if _ORIGIN.match(o)]
    return " ".join(["frame-ancestors", "'self'", *allowed])


def embeddable(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Let the news site frame this view's responses (and nobody else: CSP frame-ancestors)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = frame_ancestors()
        return response

    return xframe_options_exempt(wrapper)
