"""Reads for feeds and delivery: what a feed holds, a cheap fingerprint of it, and live owners of media files.

    state = feed_state(slug="ukraine-insights")        # one query: the show plus a fingerprint of its feed
    episodes = feed_page_episodes(show=state.show)     # feed_episodes + the source videos' renditions

Visibility comes from episodes.selectors (``is_live_q``, ``feed_episodes``), never re-implemented here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import F, Func, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from episodes.models import Episode, EpisodePerson, Rendition, Show, ShowPerson, Status, Transcript, Video
from episodes.selectors import feed_episodes, is_live_q


def _scalar(qs: QuerySet[Any], function: str, field: str, output: models.Field[Any, Any]) -> Subquery:
    """An aggregate over ``qs`` as a scalar subquery (COUNT/MAX/MIN without GROUP BY: always one row)."""
    expression = Func(F(field), function=function, output_field=output)
    return Subquery(qs.order_by().annotate(v=expression).values("v")[:1], output_field=output)


@dataclass(frozen=True)
class FeedState:
    """A show and what its feed depends on: equal fingerprints mean equal feed bytes."""

    show: Show
    live_count: int
    next_scheduled_at: datetime | None
    last_modified: datetime
    fingerprint: str


def feed_state(*, slug: str) -> FeedState | None:
    """Load the show by slug with every input of its feed summarised, in one query; None if unknown."""
    now = timezone.now()
    show_ref = OuterRef("pk")
    episodes = Episode.objects.filter(show=show_ref)
    live = episodes.filter(is_live_q())
    # Unpublished and edited-after-publishing episodes move Last-Modified too (an item disappearing is a change).
    seen = episodes.filter(Q(first_published_at__isnull=False) | is_live_q())
    scheduled = episodes.filter(status=Status.PUBLISHED, publish_at__gt=now)
    renditions = Rendition.objects.filter(Q(episode__show=show_ref) | Q(video__episode__show=show_ref))
    transcripts = Transcript.objects.filter(episode__show=show_ref)
    credits = EpisodePerson.objects.filter(episode__show=show_ref)
    show_credits = ShowPerson.objects.filter(show=show_ref)
    videos = Video.objects.filter(episode__show=show_ref)
    integer, moment = models.BigIntegerField(), models.DateTimeField()
    row = (
        Show.objects.filter(slug=slug)
        .annotate(
            f_live=_scalar(live, "COUNT", "id", integer),
            f_live_publish=_scalar(live, "MAX", "publish_at", moment),
            f_seen_updated=_scalar(seen, "MAX", "updated_at", moment),
            f_next=_scalar(scheduled, "MIN", "publish_at", moment),
            f_rend_max=_scalar(renditions, "MAX", "id", integer),
            f_rend_count=_scalar(renditions, "COUNT", "id", integer),
            f_rend_created=_scalar(renditions, "MAX", "created_at", moment),
            f_tr_max=_scalar(transcripts, "MAX", "id", integer),
            f_tr_count=_scalar(transcripts, "COUNT", "id", integer),
            f_tr_created=_scalar(transcripts, "MAX", "created_at", moment),
            f_credit_max=_scalar(credits, "MAX", "id", integer),
            f_credit_count=_scalar(credits, "COUNT", "id", integer),
            f_show_credit_max=_scalar(show_credits, "MAX", "id", integer),
            f_show_credit_count=_scalar(show_credits, "COUNT", "id", integer),
            f_video_updated=_scalar(videos, "MAX", "updated_at", moment),
        )
        .first()
    )
    if row is None:
        return None
    values = {name: getattr(row, name) for name in vars(row) if name.startswith("f_")}
    stamps = [row.updated_at, *(values[k] for k in ("f_live_publish", "f_seen_updated", "f_rend_created",
                                                     "f_tr_created", "f_video_updated"))]  # fmt: skip
    last_modified = min(max(stamp for stamp in stamps if stamp is not None), now)
    raw = repr((row.pk, row.updated_at, sorted(values.items())))
    return FeedState(
        show=row,
        live_count=int(values["f_live"] or 0),
        next_scheduled_at=values["f_next"],
        last_modified=last_modified,
        fingerprint=hashlib.sha256(raw.encode()).hexdigest()[:32],
    )


def feed_page_episodes(*, show: Show) -> QuerySet[Episode]:
    """The live episodes of the feed, newest first, with source videos and their renditions prefetched."""
    return (
        feed_episodes(show=show)
        .select_related("source_video")
        .prefetch_related(
            Prefetch("source_video__renditions", queryset=Rendition.objects.order_by("kind", "-height", "id"))
        )
    )


def show_with_credits(*, show: Show) -> Show:
    """The show with its credited people loaded (for podcast:person at channel level)."""
    return Show.objects.prefetch_related(
        Prefetch("credits", queryset=ShowPerson.objects.select_related("person"))
    ).get(pk=show.pk)


def live_episode(*, episode_id: int) -> Episode | None:
    return Episode.objects.filter(is_live_q(), pk=episode_id).select_related("show").first()


def live_video(*, video_id: int) -> Video | None:
    return Video.objects.filter(is_live_q(), pk=video_id).select_related("show").first()


def is_live(obj: Episode | Video, *, now: datetime | None = None) -> bool:
    """The in-memory twin of ``is_live_q`` for objects already loaded."""
    moment = now or timezone.now()
    return obj.status == Status.PUBLISHED and obj.publish_at is not None and obj.publish_at <= moment


def live_rendition(*, episode_id: int | None, video_id: int | None, kind: str, variant: str) -> Rendition | None:
    """The current rendition of kind+variant of a live episode or video (None for drafts: never leak them)."""
    qs = Rendition.objects.filter(kind=kind, variant=variant)
    if episode_id is not None:
        qs = qs.filter(episode_id=episode_id, episode__in=Episode.objects.filter(is_live_q()))
    elif video_id is not None:
        qs = qs.filter(video_id=video_id, video__in=Video.objects.filter(is_live_q()))
    else:
        return None
    return qs.select_related("episode", "video").order_by("-id").first()


def live_transcript(*, episode_id: int | None, video_id: int | None, language: str, fmt: str) -> Transcript | None:
    qs = Transcript.objects.filter(language=language, format=fmt)
    if episode_id is not None:
        qs = qs.filter(episode_id=episode_id, episode__in=Episode.objects.filter(is_live_q()))
    elif video_id is not None:
        qs = qs.filter(video_id=video_id, video__in=Video.objects.filter(is_live_q()))
    else:
        return None
    return qs.first()


def feed_changes_between(*, since: datetime, until: datetime) -> list[int]:
    """Ids of shows whose public feed changed in (since, until]: an episode went live, was edited or pulled."""
    went_live = Q(status=Status.PUBLISHED, publish_at__gt=since, publish_at__lte=until)
    edited = Q(first_published_at__isnull=False, updated_at__gt=since, updated_at__lte=until)
    episode_shows = Episode.objects.filter(went_live | edited).values_list("show_id", flat=True)
    edited_shows = (
        Show.objects.filter(updated_at__gt=since, updated_at__lte=until)
        .filter(episodes__status=Status.PUBLISHED, episodes__publish_at__lte=until)
        .values_list("id", flat=True)
    )
    return sorted(set(episode_shows) | set(edited_shows))
