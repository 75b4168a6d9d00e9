"""HTTP for feeds and media: thin views over feeds.rendering, feeds.delivery and the chapters builder."""

from __future__ import annotations

import hashlib
import math
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponsePermanentRedirect
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from feeds import delivery
from feeds.builder import RSS_MIME_TYPE
from feeds.data import Chapter
from feeds.mapping import FeedUnavailable, page_count
from feeds.podcast_chapters import CHAPTERS_MIME_TYPE, chapters_json
from feeds.rendering import rendered_feed
from feeds.selectors import live_episode, recent_feed_state

_GZIP = re.compile(r"(?:^|,)\s*gzip\s*(?:;\s*q\s*=\s*(?P<q>[0-9.]+))?\s*(?:,|$)", re.IGNORECASE)


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def accepts_gzip(header: str) -> bool:
    match = _GZIP.search(header)
    if match is None:
        return False
    try:
        return match["q"] is None or float(match["q"]) > 0
    except ValueError:
        return False


def _page(request: HttpRequest) -> int | None:
    raw = request.GET.get("page")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise ValueError("page must be a whole number of 1 or more")
    return int(raw)


def _max_age(next_scheduled_seconds: float | None) -> int:
    """FEED_CACHE_SECONDS, but never past the next scheduled episode's publish time."""
    max_age = settings.FEED_CACHE_SECONDS
    if next_scheduled_seconds is not None:
        max_age = min(max_age, max(0, math.ceil(next_scheduled_seconds)))
    return max_age


@require_safe
def show_feed(request: HttpRequest, slug: str) -> HttpResponseBase:
    """GET/HEAD /feeds/<slug>.xml: the podcast RSS feed with ETag, Last-Modified, gzip and paging."""
    state = recent_feed_state(slug=slug)
    if state is None:
        return _text(404, "No show has this feed address.")
    if state.show.feed_moved and state.show.new_feed_url:  # the show moved away: apps follow a 301 for good
        moved = HttpResponsePermanentRedirect(state.show.new_feed_url)
        moved["Cache-Control"] = f"public, max-age={settings.FEED_CACHE_SECONDS}"
        return moved
    try:
        page = _page(request)
    except ValueError as exc:
        return _text(400, f"Bad page parameter: {exc}.")
    if page is not None and page > page_count(state.live_count):
        return _text(404, f"This feed has {page_count(state.live_count)} page(s).")
    try:
        rendered = rendered_feed(state, page=page)
    except FeedUnavailable as exc:
        unavailable = _text(503, f"This show's feed is not available yet: {exc}")
        unavailable["Retry-After"] = "3600"
        return unavailable
    until_next = None
    if state.next_scheduled_at is not None:
        until_next = (state.next_scheduled_at - timezone.now()).total_seconds()
    headers = {
        "ETag": rendered.etag,
        "Last-Modified": http_date(int(rendered.last_modified.timestamp())),
        "Cache-Control": f"public, max-age={_max_age(until_next)}",
        "Vary": "Accept-Encoding",
    }
    response: HttpResponse | None = get_conditional_response(
        request, etag=rendered.etag, last_modified=int(rendered.last_modified.timestamp())
    )
    if response is None:
        gz = accepts_gzip(request.headers.get("Accept-Encoding", ""))
        body = rendered.gzipped if gz else rendered.body
        content_type = f"{RSS_MIME_TYPE}; charset=utf-8"
        response = HttpResponse(b"" if request.method == "HEAD" else body, content_type=content_type)
        response["Content-Length"] = str(len(body))
        if gz:
            response["Content-Encoding"] = "gzip"
    for name, value in headers.items():
        response[name] = value
    return response


@require_safe
def episode_chapters(request: HttpRequest, episode_id: str) -> HttpResponseBase:
    """GET/HEAD /d/e/<id>/chapters.json: Podcasting 2.0 JSON chapters of a live episode."""
    episode = live_episode(episode_id=int(episode_id))
    if episode is None or not episode.chapters:
        return _text(404, "Not found.")
    chapters = [
        Chapter(start_time=float(c["start"]), title=str(c["title"]), img=c.get("img"), url=c.get("url"))
        for c in episode.chapters
    ]
    body = chapters_json(chapters)
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    response: HttpResponse | None = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(b"" if request.method == "HEAD" else body, content_type=CHAPTERS_MIME_TYPE)
        response["Content-Length"] = str(len(body))
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={settings.FEED_CACHE_SECONDS}"
    for name, value in delivery.CORS_HEADERS.items():
        response[name] = value
    return response


@require_safe
def media_file(request: HttpRequest, owner: str, owner_id: str, name: str) -> HttpResponseBase:
    """GET/HEAD /d/<e|v|s>/<id>/<name>: a rendition, transcript or artwork of a live owner."""
    return delivery.deliver(request, delivery.resolve_named(owner, int(owner_id), name))


@require_safe
def hls_file(
    request: HttpRequest, owner: str, owner_id: str, path: str, version: str | None = None
) -> HttpResponseBase:
    """GET/HEAD /d/<e|v>/<id>/hls-<version>/<path>: a playlist or segment of the current HLS package."""
    return delivery.deliver(request, delivery.resolve_hls(owner, int(owner_id), path, version))
