"""oEmbed 1.0 (https://oembed.com/) for our video and episode URLs: a pure function from a live item to fields.

    target = parse_target("https://media.example/videos/3/sanktsii/")    # Target("video", 3) or raises BadUrl
    fields = oembed_fields(item, player, max_width=400, max_height=None)
    body, content_type = render(fields, "xml")

Videos are ``type: video``; episodes (an audio player with chapters) are ``type: rich``. Both carry the iframe
``html`` and its ``width``/``height``, scaled down to ``maxwidth``/``maxheight`` keeping the aspect ratio.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from django.conf import settings

from episodes.links import absolute, embed_iframe_html, rendition_url
from episodes.models import Episode, Rendition, Video

from .player import Kind, Player

CACHE_AGE = 3600
MAX_URL_LENGTH = 2000
_PATHS = (
    re.compile(r"^/embed/(?P<kind>video|episode)/(?P<id>[0-9]{1,18})/?$"),
    re.compile(r"^/(?P<kind>video|episode)s/(?P<id>[0-9]{1,18})(?:/[^/]*)?/?$"),
)


class BadUrl(ValueError):
    """The ``url`` parameter is missing or is not an absolute http(s) URL."""


@dataclass(frozen=True)
class Target:
    kind: Kind
    item_id: int


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, f"{(parts.hostname or '').lower()}:{port}"


def parse_target(url: str | None, *, also_origin: str | None = None) -> Target | None:
    """The item ``url`` names, None when it is not one of our media URLs; raise ``BadUrl`` when malformed.

    Our URLs live under PUBLIC_BASE_URL (``also_origin``: the origin the request came in on, for proxies).
    """
    if not url or len(url) > MAX_URL_LENGTH or any(ch.isspace() for ch in url):
        raise BadUrl("url must be an absolute http(s) URL of a video or episode")
    try:
        parts = urlsplit(url)
        origin = _origin(url)
    except ValueError as exc:
        raise BadUrl("url must be an absolute http(s) URL of a video or episode") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise BadUrl("url must be an absolute http(s) URL of a video or episode")
    ours = {_origin(settings.PUBLIC_BASE_URL)}
    if also_origin:
        ours.add(_origin(also_origin))
    if origin not in ours:
        return None
    for pattern in _PATHS:
        match = pattern.match(parts.path)
        if match:
            kind: Kind = "video" if match["kind"] == "video" else "episode"
            return Target(kind, int(match["id"]))
    return None


def fit(width: int, height: int, max_width: int | None, max_height: int | None) -> tuple[int, int]:
    """Scale (width, height) down, never up, to fit the limits, keeping the aspect ratio."""
    scale = 1.0
    if max_width is not None and width > max_width:
        scale = max_width / width
    if max_height is not None and height * scale > max_height:
        scale = max_height / height
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def _thumbnail(item: Episode | Video, max_width: int | None, max_height: int | None) -> dict[str, Any]:
    """The largest poster/thumbnail (videos) or artwork (episodes) that respects maxwidth/maxheight."""
    candidates: list[tuple[str, int, int]] = []
    if isinstance(item, Video):
        for r in item.renditions.all():
            if r.kind in {Rendition.Kind.POSTER, Rendition.Kind.THUMBNAIL} and r.width and r.height:
                candidates.append((rendition_url(r), r.width, r.height))
    else:
        for owner, image in (("e", item.artwork), ("s", item.show.artwork)):
            if image and image.name:
                try:
                    size = (int(image.width), int(image.height))
                except (OSError, ValueError, TypeError):
                    continue  # missing or unreadable file: no thumbnail rather than an error
                suffix = image.name.rsplit(".", 1)[-1].lower()
                owner_id = item.pk if owner == "e" else item.show_id
                candidates.append((absolute(f"/d/{owner}/{owner_id}/artwork.{suffix}"), *size))
                break
    fitting = [
        c for c in candidates
        if (max_width is None or c[1] <= max_width) and (max_height is None or c[2] <= max_height)
    ]  # fmt: skip
    if not fitting:
        return {}
    url, width, height = max(fitting, key=lambda c: c[1] * c[2])
    return {"thumbnail_url": url, "thumbnail_width": width, "thumbnail_height": height}


def oembed_fields(
    item: Episode | Video, player: Player, *, max_width: int | None, max_height: int | None
) -> dict[str, Any]:
    """The oEmbed response for a live item, required fields first."""
    if player.kind == "video":
        width, height = fit(player.width, player.height, max_width, max_height)
    else:
        # The audio player is as tall at 300 px wide as at 640 (its chapter lines never wrap): narrow it, keep its
        # height, so every chapter stays readable (only maxheight can make it shorter; then the list scrolls).
        width = min(player.width, max_width or player.width)
        height = min(player.height, max_height or player.height)
    src = absolute(player.embed_path)
    fields: dict[str, Any] = {
        "version": "1.0",
        "type": "video" if player.kind == "video" else "rich",
        "html": embed_iframe_html(src, title=item.title, width=width, height=height, kind=player.kind),
        "width": width,
        "height": height,
        "title": item.title,
        "author_name": item.show.author or item.show.title,
        "author_url": item.show.website_url or absolute(player.page_path),
        "provider_name": getattr(settings, "OEMBED_PROVIDER_NAME", "") or "Media Hub",
        "provider_url": absolute("/"),
        "cache_age": CACHE_AGE,
    }
    fields.update(_thumbnail(item, max_width, max_height))
    return fields


def render(fields: dict[str, Any], fmt: str) -> tuple[bytes, str]:
    """The response body and its content type (``application/json`` or ``text/xml``, per the spec)."""
    if fmt == "xml":
        rows = "".join(f"<{name}>{xml_escape(str(value))}</{name}>" for name, value in fields.items())
        body = f'<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<oembed>{rows}</oembed>\n'
        return body.encode(), "text/xml; charset=utf-8"
    return json.dumps(fields, ensure_ascii=False).encode(), "application/json; charset=utf-8"
