"""Download counts over the API, mounted by media_hub.api at ``/api/v1/stats/``.

GET /api/v1/stats/shows/ukraine-insights/downloads?since=2026-01-01&until=2026-01-31
GET /api/v1/stats/episodes/12/downloads

Who may read them: staff, every show; a producer, the shows they are a member of — with an API token
(``Authorization: Bearer …``, for tools and spreadsheets) or their admin session (the studio's charts). The figures
are the same as the admin's: both read feeds.analytics.download_stats.
"""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.security import django_auth

from episodes.auth import TokenAuth, request_user
from episodes.models import Episode, Show
from episodes.schemas import ErrorOut
from episodes.services.permissions import can_edit_show, visible
from feeds.analytics import download_stats

router = Router(tags=["stats"], auth=[TokenAuth(), django_auth])
# Every 4xx these operations answer, in the API's one error shape (media_hub.api.error_body): 401 without a valid
# token or session, 403 for a show the caller is not a member of, 404 for an unknown show or episode, 422 for a bad
# period.
ERRORS: dict[int, type] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class Period(Schema):
    since: date | None = None
    until: date | None = None


class DayCount(Schema):
    day: date
    downloads: int


class AppCount(Schema):
    app: str
    downloads: int


class PlatformCount(Schema):
    platform: str
    downloads: int


class DownloadStats(Schema):
    """Downloads by IAB v2-style rules: one per listener per episode per rolling 24 h, bots excluded, by UTC day."""

    scope: str
    since: date | None
    until: date | None
    total: int
    by_day: list[DayCount]
    by_app: list[AppCount]
    by_platform: list[PlatformCount]


def _check(period: Period) -> None:
    if period.since and period.until and period.since > period.until:
        raise HttpError(422, "since must not be after until")


def _may_read(request: HttpRequest, show: Show) -> None:
    if not can_edit_show(request_user(request), show):
        raise HttpError(403, "You are not a member of this show.")


@router.get("/shows/{slug}/downloads", response={200: DownloadStats, **ERRORS})
def show_downloads(request: HttpRequest, slug: str, period: Query[Period]) -> dict[str, object]:
    _check(period)
    show = Show.objects.filter(slug=slug).only("id").first()
    if show is None:
        raise Http404
    _may_read(request, show)
    stats = download_stats(show_id=show.pk, since=period.since, until=period.until)
    return {"scope": f"show:{slug}", "since": period.since, "until": period.until, **stats}


@router.get("/episodes/{episode_id}/downloads", response={200: DownloadStats, **ERRORS})
def episode_downloads(request: HttpRequest, episode_id: int, period: Query[Period]) -> dict[str, object]:
    _check(period)
    # A draft exists only for its show's members and staff: for anyone else it is not found, like the rest of the API.
    episode = visible(Episode.objects.filter(pk=episode_id), request_user(request)).select_related("show").first()
    if episode is None:
        raise Http404
    _may_read(request, episode.show)
    stats = download_stats(episode_id=episode_id, since=period.since, until=period.until)
    return {"scope": f"episode:{episode_id}", "since": period.since, "until": period.until, **stats}
