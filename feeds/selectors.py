"""Reads for feeds and delivery: what a feed holds, a cheap fingerprint of it, and live owners of media files.

    state = feed_state(slug="ukraine-insights")        # one query: the show plus a fingerprint of its feed
    rows = feed_rows(show=state.show)                  # the feed's rows as tuples, one query per table

Visibility comes from episodes.selectors (``is_live_q``, ``feed_episodes``), never re-implemented here.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, models
from django.db.models import ExpressionWrapper, F, Func, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from episodes.models import Episode, EpisodePerson, Rendition, Show, ShowPerson, Status, Transcript, Video
from episodes.selectors import feed_episodes, is_live_q, member_live_q

STATE_REUSE_SECONDS = 1.0
_recent_states: dict[tuple[str, bool], tuple[float, FeedState]] = {}  # (slug, members) → (expiry, state)


def _scalar(qs: QuerySet[Any], function: str, field: str | Func, output: models.Field[Any, Any]) -> Subquery:
    """An aggregate over ``qs`` as a scalar subquery (COUNT/MAX/MIN without GROUP BY: always one row)."""
    expression = Func(F(field) if isinstance(field, str) else field, function=function, output_field=output)
    return Subquery(qs.order_by().annotate(v=expression).values("v")[:1], output_field=output)


@dataclass(frozen=True)
class FeedState:
    """A show and what its feed depends on: equal fingerprints mean equal feed bytes."""

    show: Show
    live_count: int
    next_scheduled_at: datetime | None
    last_modified: datetime
    fingerprint: str


def _visible(members: bool) -> Q:
    """Episodes in the public feed, or in members' feeds (members.feeds)."""
    return member_live_q() if members else is_live_q()


def feed_state(*, slug: str, members: bool = False) -> FeedState | None:
    """Load the show by slug with every input of its feed summarised, in one query; None if unknown.

    ``members=True``: the feed members get (member-only and early-access episodes too; members.feeds)."""
    now = timezone.now()
    show_ref = OuterRef("pk")
    episodes = Episode.objects.filter(show=show_ref)
    live = episodes.filter(_visible(members))
    # Unpublished and edited-after-publishing episodes move Last-Modified too (an item disappearing is a change).
    seen = episodes.filter(Q(first_published_at__isnull=False) | _visible(members))
    scheduled = episodes.filter(status=Status.PUBLISHED, publish_at__gt=now)
    if members:  # members also see an early-access episode appear at its members_from time
        scheduled = episodes.filter(
            Q(status=Status.PUBLISHED) & (Q(publish_at__gt=now) | Q(members_from__gt=now))
        ).annotate(member_next=Least("publish_at", Coalesce("members_from", "publish_at")))
    # Two queries, not one OR: SQLite cannot use the owner indexes across an OR of joins and scans the table.
    # Only what hangs off live episodes is in the feed: a draft's upload, a credit on a scheduled episode or a video
    # published while its episode is not must move neither Last-Modified (lastBuildDate) nor the ETag.
    live_episode = {"status": Status.PUBLISHED, "publish_at__lte": now}
    on_live = {f"episode__{name}": value for name, value in live_episode.items()}
    renditions = Rendition.objects.filter(episode__show=show_ref, **on_live)
    video_renditions = Rendition.objects.filter(
        video__episode__show=show_ref, **{f"video__{name}": value for name, value in on_live.items()}
    )
    transcripts = Transcript.objects.filter(episode__show=show_ref, **on_live)
    credits = EpisodePerson.objects.filter(episode__show=show_ref, **on_live)
    show_credits = ShowPerson.objects.filter(show=show_ref)
    videos = Video.objects.filter(episode__show=show_ref, **on_live)
    integer, moment = models.BigIntegerField(), models.DateTimeField()
    # A credit added or edited (role, position), or the credited person's name, image or link: whichever was written
    # last (auto_now stamps); with the count, removals too.
    credit_edited = Greatest("updated_at", "person__updated_at", output_field=moment)
    row = (
        Show.objects.filter(slug=slug)
        .annotate(
            f_live=_scalar(live, "COUNT", "id", integer),
            f_live_publish=_scalar(live, "MAX", "publish_at", moment),
            f_seen_updated=_scalar(seen, "MAX", "updated_at", moment),
            f_next=_scalar(scheduled, "MIN", "member_next" if members else "publish_at", moment),
            f_rend_max=_scalar(renditions, "MAX", "id", integer),
            f_rend_count=_scalar(renditions, "COUNT", "id", integer),
            f_rend_created=_scalar(renditions, "MAX", "created_at", moment),
            f_vrend_max=_scalar(video_renditions, "MAX", "id", integer),
            f_vrend_count=_scalar(video_renditions, "COUNT", "id", integer),
            f_vrend_created=_scalar(video_renditions, "MAX", "created_at", moment),
            f_tr_max=_scalar(transcripts, "MAX", "id", integer),
            f_tr_count=_scalar(transcripts, "COUNT", "id", integer),
            f_tr_created=_scalar(transcripts, "MAX", "created_at", moment),
            f_credit_count=_scalar(credits, "COUNT", "id", integer),
            f_credit_edited=_scalar(credits, "MAX", credit_edited, moment),
            f_show_credit_count=_scalar(show_credits, "COUNT", "id", integer),
            f_show_credit_edited=_scalar(show_credits, "MAX", credit_edited, moment),
            f_video_updated=_scalar(videos, "MAX", "updated_at", moment),
        )
        .first()
    )
    if row is None:
        return None
    values = {name: getattr(row, name) for name in vars(row) if name.startswith("f_")}
    stamp_names = ("f_live_publish", "f_seen_updated", "f_rend_created", "f_vrend_created", "f_tr_created",
                   "f_video_updated", "f_credit_edited", "f_show_credit_edited")  # fmt: skip
    stamps = [row.updated_at, *(values[k] for k in stamp_names)]
    last_modified = min(max(stamp for stamp in stamps if stamp is not None), now)
    raw = repr((row.pk, row.updated_at, members, sorted(values.items())))
    return FeedState(
        show=row,
        live_count=int(values["f_live"] or 0),
        next_scheduled_at=values["f_next"],
        last_modified=last_modified,
        fingerprint=hashlib.sha256(raw.encode()).hexdigest()[:32],
    )


# Rows as tuples (values_list): building model instances was most of the cost of a 2,000-episode feed.
EPISODE_COLUMNS = (
    "id", "title", "summary", "show_notes", "season", "number", "episode_type", "explicit", "artwork", "guid",
    "publish_at", "has_chapters", "soundbites", "slug",
)  # fmt: skip
RENDITION_COLUMNS = (
    "episode_id", "video_id", "kind", "variant", "mime_type", "codecs", "bitrate", "height", "duration", "byte_size",
    "storage_key", "sha256",
)  # fmt: skip
TRANSCRIPT_COLUMNS = ("episode_id", "language", "format")
CREDIT_COLUMNS = ("episode_id", "person__name", "role", "group", "person__href", "person__img")
# The rendition kinds a feed item shows: the MP3 enclosure and the alternate enclosures.
FEED_RENDITION_KINDS = (
    Rendition.Kind.AUDIO_MP3, Rendition.Kind.AUDIO_AAC, Rendition.Kind.AUDIO_OPUS, Rendition.Kind.VIDEO_MP4,
    Rendition.Kind.HLS,
)  # fmt: skip


def _read_state(slug: str, members: bool) -> FeedState | None:
    return feed_state(slug=slug, members=True) if members else feed_state(slug=slug)


def recent_feed_state(*, slug: str, members: bool = False) -> FeedState | None:
    """``feed_state(slug=…)``, reused by this process for up to STATE_REUSE_SECONDS (never past a scheduled episode).

    Under load the fingerprint query (~5–20 ms on a 2,000-episode SQLite show: it reads every episode's
    updated_at) costs more than sending the cached bytes, so a busy feed checks it at most about once a second per
    process. A write shows up within that second (clients are told max-age=FEED_CACHE_SECONDS anyway; WebSub pings
    go out at least websub.SETTLE after a change); a scheduled episode still appears at its exact time. Inside a
    transaction the state is always read afresh: it may hold writes this process has not committed.
    """
    if connection.in_atomic_block:
        return _read_state(slug, members)
    now = time.monotonic()
    reused = _recent_states.get((slug, members))
    if reused is not None and reused[0] > now:
        return reused[1]
    state = _read_state(slug, members)
    if state is None:
        _recent_states.pop((slug, members), None)
        return None
    until = now + STATE_REUSE_SECONDS
    if state.next_scheduled_at is not None:
        until = min(until, now + (state.next_scheduled_at - timezone.now()).total_seconds())
    if len(_recent_states) >= 1000:  # bounded by the number of shows polled within a second
        _recent_states.clear()
    _recent_states[(slug, members)] = (until, state)
    return state


@dataclass
class FeedRows:
    """Live episodes of a feed (newest first, ``EPISODE_COLUMNS`` tuples) with related rows grouped by owner id.

    Renditions are ``RENDITION_COLUMNS`` tuples ordered by kind, height (tallest first) and id; transcripts
    ``TRANSCRIPT_COLUMNS`` by language and format; credits ``CREDIT_COLUMNS`` by position.
    """

    episodes: list[tuple[Any, ...]]
    renditions: dict[int, list[tuple[Any, ...]]] = field(default_factory=dict)
    transcripts: dict[int, list[tuple[Any, ...]]] = field(default_factory=dict)
    credits: dict[int, list[tuple[Any, ...]]] = field(default_factory=dict)
    videos: dict[int, int] = field(default_factory=dict)  # episode id → id of its live source video
    video_renditions: dict[int, list[tuple[Any, ...]]] = field(default_factory=dict)  # video id → renditions


def _grouped(rows: Iterable[tuple[Any, ...]], index: int = 0) -> dict[int, list[tuple[Any, ...]]]:
    groups: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        groups[row[index]].append(row)
    return dict(groups)


def _member_episodes(show: Show) -> QuerySet[Episode]:
    """Members' feed episodes, newest first by the time members got them (``member_at`` stands for publish_at: an
    early-access episode keeps the date members first saw, so it does not jump when it goes public)."""
    member_at = Least("publish_at", Coalesce("members_from", "publish_at"))
    qs = Episode.objects.filter(member_live_q(), show=show).annotate(member_at=member_at)
    return qs.order_by("-member_at", "-id")


MEMBER_EPISODE_COLUMNS = tuple("member_at" if name == "publish_at" else name for name in EPISODE_COLUMNS)


def feed_rows(*, show: Show, offset: int = 0, limit: int | None = None, members: bool = False) -> FeedRows:
    """The feed's episodes and related rows in one query per table, whatever the number of episodes."""
    # feed_episodes() is the shared visibility + ordering rule; its prefetches are replaced by the bulk reads.
    live = _member_episodes(show) if members else feed_episodes(show=show).prefetch_related(None).select_related(None)
    # Whether an episode has chapters, not the chapters: decoding 2,000 JSON lists was a quarter of this query.
    has_chapters = ExpressionWrapper(~Q(chapters=[]), output_field=models.BooleanField())
    qs = live.annotate(has_chapters=has_chapters).values_list(*(MEMBER_EPISODE_COLUMNS if members else EPISODE_COLUMNS))
    if limit is not None:
        qs = qs[offset : offset + limit]
    episodes = list(qs)
    if not episodes:
        return FeedRows(episodes=[])
    # A page names its ≤100 ids; the full feed uses a subquery instead of thousands of parameters.
    id_query: Any = [row[0] for row in episodes] if limit is not None else live.order_by().values("id")
    renditions = Rendition.objects.filter(kind__in=FEED_RENDITION_KINDS).order_by("kind", "-height", "id")
    video_live = member_live_q(episodes=False) if members else is_live_q()
    videos = dict(Video.objects.filter(video_live, episode__in=id_query).order_by().values_list("episode_id", "id"))
    return FeedRows(
        episodes=episodes,
        renditions=_grouped(renditions.filter(episode__in=id_query).values_list(*RENDITION_COLUMNS)),
        transcripts=_grouped(Transcript.objects.filter(episode__in=id_query).order_by("language", "format")
                             .values_list(*TRANSCRIPT_COLUMNS)),
        credits=_grouped(EpisodePerson.objects.filter(episode__in=id_query).order_by("position", "id")
                         .values_list(*CREDIT_COLUMNS)),
        videos=videos,
        video_renditions=_grouped(
            renditions.filter(video__in=list(videos.values())).values_list(*RENDITION_COLUMNS), 1
        ) if videos else {},
    )  # fmt: skip


def show_with_credits(*, show: Show) -> Show:
    """The show with its credited people loaded (for podcast:person at channel level)."""
    return Show.objects.prefetch_related(Prefetch("credits", queryset=ShowPerson.objects.select_related("person"))).get(
        pk=show.pk
    )


def _live(members: bool, *, episodes: bool = True) -> Q:
    """Who may fetch an item's files: anyone (live), or a member (members.delivery)."""
    return member_live_q(episodes=episodes) if members else is_live_q()


def live_episode(*, episode_id: int, members: bool = False) -> Episode | None:
    return Episode.objects.filter(_live(members), pk=episode_id).select_related("show").first()


def live_video(*, video_id: int, members: bool = False) -> Video | None:
    return Video.objects.filter(_live(members, episodes=False), pk=video_id).select_related("show").first()


def live_rendition(
    *, episode_id: int | None, video_id: int | None, kind: str, variant: str, members: bool = False
) -> Rendition | None:
    """The current rendition of kind+variant of a live episode or video (None for drafts: never leak them)."""
    qs = Rendition.objects.filter(kind=kind, variant=variant)
    if episode_id is not None:
        qs = qs.filter(episode_id=episode_id, episode__in=Episode.objects.filter(_live(members)))
    elif video_id is not None:
        qs = qs.filter(video_id=video_id, video__in=Video.objects.filter(_live(members, episodes=False)))
    else:
        return None
    return qs.select_related("episode__show", "video__show").order_by("-id").first()


def live_transcript(
    *, episode_id: int | None, video_id: int | None, language: str, fmt: str, members: bool = False
) -> Transcript | None:
    qs = Transcript.objects.filter(language=language, format=fmt)
    if episode_id is not None:
        qs = qs.filter(episode_id=episode_id, episode__in=Episode.objects.filter(_live(members)))
    elif video_id is not None:
        qs = qs.filter(video_id=video_id, video__in=Video.objects.filter(_live(members, episodes=False)))
    else:
        return None
    return qs.select_related("episode__show", "video__show").first()


def feed_changes_between(*, since: datetime, until: datetime) -> list[int]:
    """Ids of shows whose public feed changed in (since, until]: an episode went live, was edited or pulled, or the
    show, a credit or a credited person was edited.

    Only episodes that have been live count as edited: scheduling one changes nothing a listener sees until its
    time, when it "goes live". (Rendition, transcript and deletion changes are not seen here; feeds.websub compares
    the feeds' fingerprints for those.)
    """
    window = {"updated_at__gt": since, "updated_at__lte": until}
    went_live = Q(status=Status.PUBLISHED, publish_at__gt=since, publish_at__lte=until)
    edited = Q(first_published_at__lte=until, **window)
    shows: set[int] = set(Episode.objects.filter(went_live | edited).values_list("show_id", flat=True))
    shows.update(
        Show.objects.filter(**window)
        .filter(episodes__status=Status.PUBLISHED, episodes__publish_at__lte=until)
        .values_list("id", flat=True)
    )
    person_edited = {f"person__{name}": value for name, value in window.items()}
    shows.update(
        EpisodePerson.objects.filter(
            Q(**window) | Q(**person_edited), episode__first_published_at__lte=until
        ).values_list("episode__show_id", flat=True)
    )
    shows.update(ShowPerson.objects.filter(Q(**window) | Q(**person_edited)).values_list("show_id", flat=True))
    return sorted(shows)
