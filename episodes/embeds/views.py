"""Public player pages, embeds, oEmbed and the play-event beacon. Anything not live is a plain 404.

/embed/video/3/?t=90&autoplay=1   iframe page (framable by NEWS_SITE_ORIGINS only)
/videos/3/<slug>/                  public page with the player and the oEmbed discovery links
/oembed?url=…&format=json|xml      oEmbed 1.0
POST /embed/events                 {"kind": "video", "id": 3, "event": "play"} → 204
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from episodes.fingerprints import PublicState, item_state
from episodes.html import sanitize_html
from episodes.links import (
    absolute,
    oembed_discovery_urls,
    show_feed_url,
)
from episodes.models import Episode
from episodes.response_cache import fingerprinted
from episodes.selectors import api_media_prefetch, next_scheduled_video_at, published_videos

from . import events, oembed
from .headers import embeddable, strict_page
from .player import Kind, article_links, live_item, parse_start, player_for
from .previews import SITEMAP_MAX_URLS, page_meta, video_sitemap

logger = logging.getLogger(__name__)
EMBED_CACHE_CONTROL = "public, max-age=60"
TRUE = {"1", "true", "yes", "on"}


def _not_found() -> HttpResponse:
    return HttpResponse("Not found.\n", status=404, content_type="text/plain; charset=utf-8")


def _json(status: int, data: dict[str, Any]) -> HttpResponse:
    return HttpResponse(json.dumps(data), status=status, content_type="application/json; charset=utf-8")


def _embed(request: HttpRequest, kind: Kind, item_id: str) -> HttpResponseBase:
    item = live_item(kind, int(item_id))
    if item is None:
        return _not_found()
    player = player_for(
        item, start=parse_start(request.GET.get("t")), autoplay=request.GET.get("autoplay", "").lower() in TRUE
    )
    response = render(request, "episodes/embed/embed.html", {"player": player})
    response["Cache-Control"] = EMBED_CACHE_CONTROL
    return response


@require_safe
@embeddable
def embed_video(request: HttpRequest, video_id: str) -> HttpResponseBase:
    """GET /embed/video/<id>/: the video player, for an iframe."""
    return _embed(request, "video", video_id)


@require_safe
@embeddable
def embed_episode(request: HttpRequest, episode_id: str) -> HttpResponseBase:
    """GET /embed/episode/<id>/: the audio player with chapters, for an iframe."""
    return _embed(request, "episode", episode_id)


def _page(request: HttpRequest, kind: Kind, item_id: str, slug: str | None) -> HttpResponseBase:
    item = live_item(kind, int(item_id))
    if item is None:
        return _not_found()
    player = player_for(item, start=parse_start(request.GET.get("t")))
    if slug != item.slug:
        return HttpResponsePermanentRedirect(player.page_path)  # old or missing slug: one canonical URL
    page_url = absolute(player.page_path)
    if isinstance(item, Episode):
        description = item.summary
        notes = sanitize_html(item.show_notes)  # sanitised on save too; again here so the page never trusts rows
    else:
        description, notes = "", sanitize_html(item.description)
    context = {
        "player": player,
        "item": item,
        "page_url": page_url,
        "description": description,
        "notes": notes,
        "feed_url": show_feed_url(item.show.slug),
        "articles": article_links(item),
        "oembed": oembed_discovery_urls(page_url),
        "meta": page_meta(item, player, description=description),
    }
    response = render(request, "episodes/embed/page.html", context)
    response["Cache-Control"] = EMBED_CACHE_CONTROL
    return response


@require_safe
@strict_page
def video_page(request: HttpRequest, video_id: str, slug: str | None = None) -> HttpResponseBase:
    """GET /videos/<id>/<slug>/: the public page of a video."""
    return _page(request, "video", video_id, slug)


@require_safe
@strict_page
def episode_page(request: HttpRequest, episode_id: str, slug: str | None = None) -> HttpResponseBase:
    """GET /episodes/<id>/<slug>/: the public page of an episode."""
    return _page(request, "episode", episode_id, slug)


def _dimension(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= 10_000:
        raise ValueError(f"{name} must be a whole number of pixels between 1 and 10000")
    return int(raw)


def _oembed_state(request: HttpRequest) -> PublicState | None:
    try:
        target = oembed.parse_target(request.GET.get("url"), also_origin=request.build_absolute_uri("/"))
    except oembed.BadUrl:
        return None
    return item_state(target.kind, target.item_id) if target is not None else None


@require_safe
@fingerprinted(_oembed_state)
def oembed_view(request: HttpRequest) -> HttpResponseBase:
    """GET /oembed?url=…&format=json|xml&maxwidth=&maxheight=: oEmbed 1.0 for our video and episode URLs."""
    fmt = request.GET.get("format", "json").strip().lower() or "json"
    if fmt not in {"json", "xml"}:
        return HttpResponse("Only format=json and format=xml are supported.\n", status=501,
                            content_type="text/plain; charset=utf-8")  # fmt: skip
    try:
        max_width, max_height = _dimension(request, "maxwidth"), _dimension(request, "maxheight")
        target = oembed.parse_target(request.GET.get("url"), also_origin=request.build_absolute_uri("/"))
    except (ValueError, oembed.BadUrl) as exc:
        return _json(400, {"error": str(exc)})
    item = live_item(target.kind, target.item_id) if target is not None else None
    if item is None:
        return _json(404, {"error": "No published video or episode has this URL."})
    fields = oembed.oembed_fields(item, player_for(item), max_width=max_width, max_height=max_height)
    body, content_type = oembed.render(fields, fmt)
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = f"public, max-age={oembed.CACHE_AGE}"
    return response


SITEMAP_MAX_AGE = 3600


@require_safe
def video_sitemap_view(request: HttpRequest) -> HttpResponseBase:
    """GET /sitemaps/videos.xml: every live video with its page, player, file, thumbnail and duration."""
    videos = api_media_prefetch(published_videos())[:SITEMAP_MAX_URLS]
    body = video_sitemap((v, player_for(v)) for v in videos)
    response = HttpResponse(body, content_type="application/xml; charset=utf-8")
    max_age = SITEMAP_MAX_AGE
    upcoming = next_scheduled_video_at()
    if upcoming is not None:  # a scheduled video joins the sitemap at its time: do not cache past it
        max_age = max(0, min(max_age, int((upcoming - timezone.now()).total_seconds())))
    response["Cache-Control"] = f"public, max-age={max_age}"
    return response


@csrf_exempt  # no cookie or session is read: the beacon comes from our iframe on any news-site page
@require_POST
def embed_events(request: HttpRequest) -> HttpResponseBase:
    """POST /embed/events: a player started playing; counted once per viewer, item and day. 204 on success."""
    try:
        event = events.parse_event(request.body)
    except events.BadEvent as exc:
        return _json(400, {"error": str(exc)})
    try:
        counted = events.view_record(request, event=event, when=timezone.now())
    except Exception:  # noqa: BLE001 - counting must never break the player (or answer 500)
        logger.warning("embed view not recorded", exc_info=True)
        counted = False
    if counted is None:
        return _json(404, {"error": "No published item has this id."})
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return response
