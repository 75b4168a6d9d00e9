"""Reads for feeds and delivery: what a feed holds, a cheap fingerprint of it, and live owners of media files.

    state = feed_state(slug="ukraine-insights")        # one query: the show plus a fingerprint of its feed
    episodes = feed_page_episodes(show=state.show)     # feed_episodes + the source videos' renditions

Visibility comes from episodes.selectors (``is_live_q``, ``feed_episodes``), never re-implemented here.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.db import models
from django.db.models import F, Func, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from episodes.models import Episode, EpisodePerson, Rendition, Show, ShowPerson, Status, Transcript, Video
from episodes.selectors import feed_episodes, is_live_q

# Only what the feed shows: model instances are most of the cost of a 2,000-episode feed.
EPISODE_FIELDS = (
    "id", "show_id", "title", "summary", "show_notes", "season", "number", "episode_type", "explicit", "artwork",
    "guid", "status", "publish_at", "chapters", "soundbites",
)  # fmt: skip
RENDITION_FIELDS = (
    "id", "episode_id", "video_id", "kind", "variant", "mime_type", "codecs", "bitrate", "height", "duration",
    "byte_size", "storage_key",
)  # fmt: skip
_Row = TypeVar("_Row", Rendition, Transcript, EpisodePerson)


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
    # Two queries, not one OR: SQLite cannot use the owner indexes across an OR of joins and scans the table.
    renditions = Rendition.objects.filter(episode__show=show_ref)
    video_renditions = Rendition.objects.filter(video__episode__show=show_ref)
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
            f_vrend_max=_scalar(video_renditions, "MAX", "id", integer),
            f_vrend_count=_scalar(video_renditions, "COUNT", "id", integer),
            f_vrend_created=_scalar(video_renditions, "MAX", "created_at", moment),
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
    stamp_names = ("f_live_publish", "f_seen_updated", "f_rend_created", "f_vrend_created", "f_tr_created",
                   "f_video_updated")  # fmt: skip
    stamps = [row.updated_at, *(values[k] for k in stamp_names)]
    last_modified = min(max(stamp for stamp in stamps if stamp is not None), now)
    raw = repr((row.pk, row.updated_at, sorted(values.items())))
    return FeedState(
        show=row,
        live_count=int(values["f_live"] or 0),
        next_scheduled_at=values["f_next"],
        last_modified=last_modified,
        fingerprint=hashlib.sha256(raw.encode()).hexdigest()[:32],
    )


@dataclass
class FeedRows:
    """Live episodes of a feed (newest first) with their related rows grouped by episode id."""

    episodes: list[Episode]
    renditions: dict[int, list[Rendition]] = field(default_factory=dict)
    transcripts: dict[int, list[Transcript]] = field(default_factory=dict)
    credits: dict[int, list[EpisodePerson]] = field(default_factory=dict)
    videos: dict[int, Video] = field(default_factory=dict)  # episode id → its live source video
    video_renditions: dict[int, list[Rendition]] = field(default_factory=dict)  # video id → renditions


def _grouped(rows: Iterable[_Row], key: str) -> dict[int, list[_Row]]:
    groups: dict[int, list[_Row]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(row)
    return dict(groups)


def feed_rows(*, show: Show, offset: int = 0, limit: int | None = None) -> FeedRows:
    """The feed's episodes and related rows in six queries, whatever the number of episodes.

    Grouped by hand rather than with prefetch_related: Django clones a queryset per instance when it
    prefetches, which costs seconds on a 2,000-episode show.
    """
    # feed_episodes() is the shared visibility + ordering rule; its prefetches are replaced by the bulk reads.
    qs = feed_episodes(show=show).prefetch_related(None).select_related(None).only(*EPISODE_FIELDS)
    if limit is not None:
        qs = qs[offset : offset + limit]
    episodes = list(qs)
    if not episodes:
        return FeedRows(episodes=[])
    # A page names its ≤100 ids; the full feed uses a subquery instead of thousands of parameters.
    id_query: Any = [e.pk for e in episodes]
    if limit is None:
        id_query = feed_episodes(show=show).prefetch_related(None).order_by().values("id")
    videos = {v.episode_id: v for v in Video.objects.filter(is_live_q(), episode__in=id_query) if v.episode_id}
    return FeedRows(
        episodes=episodes,
        renditions=_grouped(Rendition.objects.filter(episode__in=id_query).only(*RENDITION_FIELDS)
                            .order_by("kind", "-height", "id"), "episode_id"),
        transcripts=_grouped(Transcript.objects.filter(episode__in=id_query).order_by("language", "format"),
                             "episode_id"),
        credits=_grouped(EpisodePerson.objects.filter(episode__in=id_query).select_related("person")
                         .order_by("position", "id"), "episode_id"),
        videos=videos,
        video_renditions=_grouped(
            Rendition.objects.filter(video__in=[v.pk for v in videos.values()]).order_by("kind", "-height", "id"),
            "video_id",
        ) if videos else {},
    )  # fmt: skip


def show_with_credits(*, show: Show) -> Show:
    """The show with its credited people loaded (for podcast:person at channel level)."""
    return Show.objects.prefetch_related(
        Prefetch("credits", queryset=ShowPerson.objects.select_related("person"))
    ).get(pk=show.pk)


def live_episode(*, episode_id: int) -> Episode | None:
    return Episode.objects.filter(is_live_q(), pk=episode_id).select_related("show").first()


def live_video(*, video_id: int) -> Video | None:
    return Video.objects.filter(is_live_q(), pk=video_id).select_related("show").first()


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
