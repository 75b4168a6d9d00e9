"""Reads shared by the API, feeds, pages and admin. Visibility rules live here, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import CharField, Count, Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from episodes.models import (
    Article,
    ArticleEpisode,
    ArticleVideo,
    Episode,
    ProcessingJob,
    Rendition,
    Show,
    Status,
    Transcript,
    Video,
)


def is_live_q(now: datetime | None = None) -> Q:
    """Published, its publish time has passed and not for members only: the only state anyone outside the newsroom
    sees (works for episodes and videos)."""
    return Q(status=Status.PUBLISHED, publish_at__lte=now or timezone.now(), members_only=False)


def member_live_q(*, episodes: bool = True) -> Q:
    """What members see (their private feeds and media): everything public plus members-only items, and episodes
    in early access (``members_from`` passed). ``episodes=False`` for videos, which have no early access."""
    now = timezone.now()
    if not episodes:
        return Q(status=Status.PUBLISHED, publish_at__lte=now)
    return Q(status=Status.PUBLISHED) & (Q(publish_at__lte=now) | Q(members_from__lte=now))


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


def next_scheduled_video_at() -> datetime | None:
    """The earliest future publish time of a video (the video sitemap must expire then)."""
    qs = Video.objects.filter(status=Status.PUBLISHED, publish_at__gt=timezone.now())
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


def job_chunk_progress(job: ProcessingJob) -> dict[str, int] | None:
    """Chunks done / total of a chunked job's current attempt (None: a whole-file job)."""
    from episodes.models import ChunkPart

    counts = ChunkPart.objects.filter(job=job, attempt=job.attempts, kind=ChunkPart.Kind.CHUNK).aggregate(
        total=Count("pk"), done=Count("pk", filter=Q(state=ChunkPart.State.DONE))
    )
    return {"done": counts["done"], "total": counts["total"]} if counts["total"] else None


# --- API reads (episodes/api) --------------------------------------------------------------------------------


def api_media_prefetch(qs: QuerySet[Any]) -> QuerySet[Any]:
    """Everything an API item renders (show, renditions, transcripts) in a fixed number of queries."""
    return qs.select_related("show").prefetch_related(
        Prefetch("renditions", queryset=Rendition.objects.order_by("kind", "-height", "id")),
        Prefetch("transcripts", queryset=Transcript.objects.order_by("language", "format")),
    )


def article_media_items(*, article: Article, where: Q) -> list[Episode | Video]:
    """The article's episodes and videos matching ``where``, in editorial order (position across both kinds)."""
    episode_links = list(
        ArticleEpisode.objects.filter(article=article)
        .filter(**{"episode__in": Episode.objects.filter(where).values("pk")})
        .values_list("position", "id", "episode_id")
    )
    video_links = list(
        ArticleVideo.objects.filter(article=article)
        .filter(**{"video__in": Video.objects.filter(where).values("pk")})
        .values_list("position", "id", "video_id")
    )
    episodes = {e.pk: e for e in api_media_prefetch(Episode.objects.filter(pk__in=[x[2] for x in episode_links]))}
    videos = {v.pk: v for v in api_media_prefetch(Video.objects.filter(pk__in=[x[2] for x in video_links]))}
    # Ties on position (links made one by one) keep the order they were made in; episodes first on a full tie.
    ordered = sorted(
        [(pos, 0, link_id, episodes[pk]) for pos, link_id, pk in episode_links if pk in episodes]
        + [(pos, 1, link_id, videos[pk]) for pos, link_id, pk in video_links if pk in videos],
        key=lambda row: (row[0], row[1], row[2]),
    )
    return [row[3] for row in ordered]


@dataclass(frozen=True)
class MediaFilter:
    kind: str | None = None  # "episode" | "video" | None for both
    show_slug: str | None = None
    article_external_id: str | None = None
    published_from: datetime | None = None
    published_to: datetime | None = None
    query: str | None = None


def _filtered(model: type[Episode] | type[Video], flt: MediaFilter, where: Q) -> QuerySet[Any]:
    qs = model.objects.filter(where)
    if flt.show_slug:
        qs = qs.filter(show__slug=flt.show_slug)
    if flt.article_external_id:
        qs = qs.filter(articles__external_id=flt.article_external_id)
    if flt.published_from:
        qs = qs.filter(publish_at__gte=flt.published_from)
    if flt.published_to:
        qs = qs.filter(publish_at__lte=flt.published_to)
    if flt.query:
        qs = qs.filter(pk__in=_search_ids(model, flt.query))
    return qs


def _search_ids(model: type[Episode] | type[Video], text: str) -> QuerySet[Any]:
    """Ids matching ``text`` in title, description or transcripts: full-text on PostgreSQL, icontains elsewhere."""
    owner = "episode" if model is Episode else "video"
    own_fields = ["title", "summary", "show_notes"] if model is Episode else ["title", "description"]
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        # 'simple' keeps words as written: no English stemming, so Ukrainian (and everything else) matches.
        query = SearchQuery(text, config="simple", search_type="websearch")
        transcript_hit = Transcript.objects.annotate(doc=SearchVector("text", config="simple")).filter(
            **{owner: OuterRef("pk")}, doc=query
        )
        return (
            model.objects.annotate(doc=SearchVector(*own_fields, config="simple"))
            .filter(Q(doc=query) | Q(Exists(transcript_hit)))
            .values("pk")
        )
    words = text.split()[:10]
    qs = model.objects.all()
    for word in words:
        match = Q()
        for name in own_fields:
            match |= Q(**{f"{name}__icontains": word})
        match |= Q(Exists(Transcript.objects.filter(**{owner: OuterRef("pk"), "text__icontains": word})))
        qs = qs.filter(match)
    return qs.values("pk")


def media_page(*, flt: MediaFilter, where: Q, limit: int, offset: int) -> tuple[int, list[Episode | Video]]:
    """One page of episodes and/or videos, newest first (drafts, without a time, last), and the total."""
    sort_at = Coalesce("publish_at", Value(datetime(1970, 1, 1, tzinfo=UTC)))
    parts: list[QuerySet[Any]] = []
    for kind, model in (("episode", Episode), ("video", Video)):
        if flt.kind in (None, kind):
            parts.append(
                _filtered(model, flt, where)
                .annotate(sort_at=sort_at, kind=Value(kind, output_field=CharField()))
                .values_list("sort_at", "pk", "kind")
                .order_by()
            )
    total = sum(part.count() for part in parts)
    combined = parts[0] if len(parts) == 1 else parts[0].union(parts[1], all=True)
    rows = list(combined.order_by("-sort_at", "-pk", "kind")[offset : offset + limit])
    ids: dict[str, list[int]] = {"episode": [], "video": []}
    for _, pk, kind in rows:
        ids[kind].append(pk)
    found: dict[tuple[str, int], Episode | Video] = {}
    if ids["episode"]:
        found.update((("episode", e.pk), e) for e in api_media_prefetch(Episode.objects.filter(pk__in=ids["episode"])))
    if ids["video"]:
        found.update((("video", v.pk), v) for v in api_media_prefetch(Video.objects.filter(pk__in=ids["video"])))
    return total, [found[(kind, pk)] for _, pk, kind in rows if (kind, pk) in found]
