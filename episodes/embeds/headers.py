"""Content Security Policy of the embed player and public pages; embeds may be framed by the news site only.

@embeddable                       # strict CSP with frame-ancestors 'self' <NEWS_SITE_ORIGINS>, no X-Frame-Options
def embed_video(request, ...): ...

The policy allows our own scripts and styles only (no inline code, no eval, no plugins), and media, posters,
storyboards and captions from this site and from where /d/ redirects them: the CDN (S3_PUBLIC_BASE_URL) or the
bucket's presigned URLs (media_origins).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

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


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme in {"http", "https"} and parts.netloc else ""
    return origin if _ORIGIN.match(origin) else None


def media_origins() -> list[str]:
    """Origins /d/ may send a player to: this site, the CDN, or the S3 endpoint in the addressing style in use."""
    urls = [settings.PUBLIC_BASE_URL, settings.S3_PUBLIC_BASE_URL]
    if settings.S3_BUCKET and not settings.S3_PUBLIC_BASE_URL:
        bucket, style = settings.S3_BUCKET, settings.S3_ADDRESSING_STYLE
        if settings.S3_ENDPOINT_URL:
            endpoint = urlsplit(settings.S3_ENDPOINT_URL)
            urls.append(settings.S3_ENDPOINT_URL)  # path style
            if style != "path":
                urls.append(f"{endpoint.scheme}://{bucket}.{endpoint.netloc}")
        else:
            region = settings.S3_REGION or "us-east-1"
            urls += [f"https://s3.{region}.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"]
            if region == "us-east-1":
                urls += ["https://s3.amazonaws.com", f"https://{bucket}.s3.amazonaws.com"]
    origins: list[str] = []
    for url in urls:
        origin = _origin(url or "")
        if origin and origin not in origins:
            origins.append(origin)
    return origins


def content_security_policy(*, framing: str) -> str:
    """The whole policy; ``framing`` is the frame-ancestors directive."""
    media = " ".join(media_origins())
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' data: {media}",
        f"media-src 'self' blob: {media}",
        f"connect-src 'self' {media}",  # storyboard cues, HLS playlists, view events
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        framing,
    ])  # fmt: skip


def strict_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """The same policy on pages nobody may frame (X-Frame-Options DENY stays)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = content_security_policy(framing="frame-ancestors 'none'")
        return response

    return wrapper


def embeddable(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Let the news site frame this view's responses (and nobody else: CSP frame-ancestors)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = content_security_policy(framing=frame_ancestors())
        return response

    return xframe_options_exempt(wrapper)
