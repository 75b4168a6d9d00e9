"""HTTP for members: the private feed, the media behind it, and the membership system's webhook.

    GET /members/<token>/feeds/<slug>.xml         the member's feed (private, revalidated on every poll)
    GET /members/<token>/d/e/12/audio_mp3.mp3     a file, for a member (counted like a public download)
    POST /members/webhook                         grant / revoke (members.webhook)

An unknown or revoked token is a 404, exactly like a URL that never existed. Nothing a member gets may be kept by a
shared cache, and their own app must ask again each time (``private, no-cache``): revoking works at once.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from feeds import delivery
from feeds.builder import RSS_MIME_TYPE
from feeds.data import Chapter
from feeds.mapping import FeedUnavailable
from feeds.podcast_chapters import CHAPTERS_MIME_TYPE, chapters_json
from feeds.selectors import live_episode, recent_feed_state
from members import webhook
from members.feeds import member_template
from members.models import Member
from members.services import active_member, member_url, member_use_record

log = logging.getLogger(__name__)
PRIVATE = "private, no-cache"


def _error(status: int, code: str, message: str) -> HttpResponse:
    body = json.dumps({"error": {"code": code, "message": message}})
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def _member(request: HttpRequest, token: str) -> Member | None:
    member = active_member(token)
    if member is not None:
        member_use_record(request, member)
    return member


@require_safe
def member_feed(request: HttpRequest, token: str, slug: str) -> HttpResponseBase:
    member = _member(request, token)
    if member is None:
        return _error(404, "not_found", "No feed at this address.")
    state = recent_feed_state(slug=slug, members=True)
    if state is None:
        return _error(404, "not_found", "No feed at this address.")
    try:
        template = member_template(state)
    except FeedUnavailable as exc:
        return _error(503, "feed_unavailable", f"This show's feed is not available yet: {exc}")
    etag = template.etag_for(member.token)
    modified = int(template.last_modified.timestamp())
    response: HttpResponse | None = get_conditional_response(request, etag=etag, last_modified=modified)
    if response is None:
        body = template.body_for(member.token)
        response = HttpResponse(
            b"" if request.method == "HEAD" else body, content_type=f"{RSS_MIME_TYPE}; charset=utf-8"
        )
        response["Content-Length"] = str(len(body))
    response["ETag"] = etag
    response["Last-Modified"] = http_date(modified)
    response["Cache-Control"] = PRIVATE
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def member_media(request: HttpRequest, token: str, owner: str, owner_id: str, name: str) -> HttpResponseBase:
    if _member(request, token) is None:
        return _error(404, "not_found", "Not found.")
    return _deliver(request, token, delivery.resolve_named(owner, int(owner_id), name, members=True))


@require_safe
def member_chapters(request: HttpRequest, token: str, episode_id: str) -> HttpResponseBase:
    if _member(request, token) is None:
        return _error(404, "not_found", "Not found.")
    episode = live_episode(episode_id=int(episode_id), members=True)
    if episode is None or not episode.chapters:
        return _error(404, "not_found", "Not found.")
    chapters = [
        Chapter(start_time=float(c["start"]), title=str(c["title"]), img=c.get("img"), url=c.get("url"))
        for c in episode.chapters
    ]
    body = chapters_json(chapters)
    response = HttpResponse(b"" if request.method == "HEAD" else body, content_type=CHAPTERS_MIME_TYPE)
    response["Content-Length"] = str(len(body))
    response["Cache-Control"] = PRIVATE
    for name, value in delivery.CORS_HEADERS.items():
        response[name] = value
    return response


@require_safe
def member_hls(
    request: HttpRequest, token: str, owner: str, owner_id: str, path: str, version: str | None = None
) -> HttpResponseBase:
    if _member(request, token) is None:
        return _error(404, "not_found", "Not found.")
    return _deliver(request, token, delivery.resolve_hls(owner, int(owner_id), path, version, members=True))


def _deliver(request: HttpRequest, token: str, media: delivery.MediaFile | None) -> HttpResponseBase:
    """feeds.delivery.deliver for members: private caching, and in S3 mode a short-lived presigned URL (never the
    public CDN), so a revoked member's player cannot keep fetching; a redirect to a file's current version stays
    under the member's path. Counted like a public download."""
    if media is None:
        return _error(404, "not_found", "Not found.")
    audience = delivery.Audience(
        cache_control=PRIVATE, playlist_cache_control=PRIVATE, presign_seconds=settings.MEMBERS_MEDIA_URL_SECONDS,
        url=lambda url: member_url(url, token),
    )  # fmt: skip
    return delivery.deliver(request, media, audience)


@csrf_exempt
@require_POST
def membership_webhook(request: HttpRequest) -> HttpResponse:
    status, payload = webhook.handle(request)
    response = HttpResponse(json.dumps(payload), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response
