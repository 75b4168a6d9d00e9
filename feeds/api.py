"""Download counts over the API (staff only for now), mounted by media_hub.api at ``/api/v1/stats/``.

GET /api/v1/stats/shows/ukraine-insights/downloads?since=2026-01-01&until=2026-01-31
GET /api/v1/stats/episodes/12/downloads
"""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.security import django_auth_is_staff

from episodes.models import Episode, Show
from episodes.schemas import ErrorOut
from feeds.analytics import download_stats

router = Router(tags=["stats"], auth=django_auth_is_staff)
# Every 4xx these operations answer, in the API's one error shape (media_hub.api.error_body): 401 when the caller
# is not a logged-in staff member, 404 for an unknown show or episode, 422 for a bad period.
ERRORS: dict[int, type] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class Period(Schema):
    since: date | None = None
    until: date | None = None


class DayCount(Schema):
    day: date
    downloads: int


class AppCount(Schema):
    app: str
    downloads: int


class DownloadStats(Schema):
    """Downloads by IAB v2-style rules: one per listener per episode per rolling 24 h, bots excluded, by UTC day."""

    scope: str
    since: date | None
    until: date | None
    total: int
    by_day: list[DayCount]
    by_app: list[AppCount]


def _check(period: Period) -> None:
    if period.since and period.until and period.since > period.until:
        raise HttpError(422, "since must not be after until")


@router.get("/shows/{slug}/downloads", response={200: DownloadStats, **ERRORS})
def show_downloads(request: HttpRequest, slug: str, period: Query[Period]) -> dict[str, object]:
    _check(period)
    show = Show.objects.filter(slug=slug).only("id").first()
    if show is None:
        raise Http404
    stats = download_stats(show_id=show.pk, since=period.since, until=period.until)
    return {"scope": f"show:{slug}", "since": period.since, "until": period.until, **stats}


@router.get("/episodes/{episode_id}/downloads", response={200: DownloadStats, **ERRORS})
def episode_downloads(request: HttpRequest, episode_id: int, period: Query[Period]) -> dict[str, object]:
    _check(period)
    if not Episode.objects.filter(pk=episode_id).exists():
        raise Http404
    stats = download_stats(episode_id=episode_id, since=period.since, until=period.until)
    return {"scope": f"episode:{episode_id}", "since": period.since, "until": period.until, **stats}
