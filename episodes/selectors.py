"""Reads shared by the API, feeds, pages and admin. Visibility rules live here, once."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from episodes.models import Episode, ProcessingJob, Rendition, Show, Status, Video


def is_live_q() -> Q:
    """Published and its publish time has passed: the only state anyone outside the newsroom sees."""
    return Q(status=Status.PUBLISHED, publish_at__lte=timezone.now())


def published_episodes(*, show: Show | None = None) -> QuerySet[Episode]:
    qs = Episode.objects.filter(is_live_q())
    if show is not None:
        qs = qs.filter(show=show)
    return qs.select_related("show").order_by("-publish_at", "-id")


def published_videos(*, show: Show | None = None) -> QuerySet[Video]:
    qs = Video.objects.filter(is_live_q())
    if show is not None:
        qs = qs.filter(show=show)
    return qs.select_related("show").order_by("-publish_at", "-id")


def feed_episodes(*, show: Show) -> QuerySet[Episode]:
    """Everything the RSS feed needs, in a fixed number of queries."""
    return published_episodes(show=show).prefetch_related(
        Prefetch("renditions", queryset=Rendition.objects.order_by("kind", "-height", "id")),
        "transcripts",
        "credits__person",
    )


def next_scheduled_publish_at(*, show: Show | None = None) -> object:
    """The earliest future publish time: caches of public output must expire then."""
    qs = Episode.objects.filter(status=Status.PUBLISHED, publish_at__gt=timezone.now())
    if show is not None:
        qs = qs.filter(show=show)
    return qs.order_by("publish_at").values_list("publish_at", flat=True).first()


def latest_job(*, episode: Episode | None = None, video: Video | None = None) -> ProcessingJob | None:
    qs = ProcessingJob.objects.select_related("source")
    if episode is not None:
        qs = qs.filter(source__episode=episode)
    elif video is not None:
        qs = qs.filter(source__video=video)
    else:
        return None
    return qs.order_by("-created_at", "-id").first()
