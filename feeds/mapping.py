"""Model rows → the feed builder's dataclasses, in a fixed number of queries.

    show, episodes, page = feed_inputs(show=show_row, last_build_date=state.last_modified, hub_url=hub)
    xml = build_feed(show, episodes, page=page)

Every media URL is a stable delivery URL (episodes.links): re-processing swaps files, never URLs.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.utils import timezone

from episodes.categories import parse_category
from episodes.links import absolute, chapters_url, rendition_url, show_feed_url, transcript_url
from episodes.models import Episode, Rendition, Show, Video
from episodes.models import Transcript as TranscriptRow
from episodes.selectors import feed_episodes
from feeds import data
from feeds.selectors import FeedRows, feed_rows, show_with_credits

PAGE_SIZE = 100
EPISODE_TYPES: dict[str, data.EpisodeType] = {"full": "full", "trailer": "trailer", "bonus": "bonus"}
AUDIO_ALTERNATES = (("audio_aac", "AAC"), ("audio_opus", "Opus"))


class FeedUnavailable(Exception):
    """The show's data cannot make a valid feed (e.g. no Apple category yet)."""


def artwork_url(owner: str, owner_id: int, name: str) -> str:
    """Stable URL of a show's or episode's artwork; the query changes with the file so apps refetch it."""
    version = hashlib.sha256(name.encode()).hexdigest()[:10]
    suffix = PurePosixPath(name).suffix.lower() or ".jpg"
    return absolute(f"/d/{owner}/{owner_id}/artwork{suffix}?v={version}")


def feed_show(show: Show, *, last_build_date: datetime, hub_url: str | None = None) -> data.FeedShow:
    """Channel data for ``show`` (its credits must be prefetched: see ``show_with_credits``)."""
    try:
        categories = tuple(parse_category(item) for item in show.categories)
    except ValidationError as exc:
        raise FeedUnavailable(f"The show's categories are not valid: {exc.messages[0]}") from exc
    persons = tuple(
        data.Person(name=c.person.name, role=c.role, group=c.group, href=c.person.href or None,
                    img=c.person.img or None)
        for c in show.credits.all()
    )  # fmt: skip
    funding = tuple(data.Funding(url=f["url"], text=f.get("text", "")) for f in show.funding)
    try:
        return data.FeedShow(
            title=show.title,
            description=show.description,
            link=show.website_url or absolute("/"),
            feed_url=show_feed_url(show.slug),
            language=show.language,
            image_url=artwork_url("s", show.pk, show.artwork.name) if show.artwork.name else "",
            categories=categories,
            explicit=show.explicit,
            author=show.author,
            owner_name=show.owner_name or show.author,
            owner_email=show.owner_email,
            podcast_guid=show.podcast_guid,
            last_build_date=last_build_date,
            copyright=show.copyright or None,
            show_type="serial" if show.show_type == "serial" else "episodic",
            locked=show.locked,
            funding=funding,
            persons=persons,
            medium=show.medium,
            new_feed_url=show.new_feed_url or None,
            hub_url=hub_url or None,
        )
    except ValueError as exc:
        raise FeedUnavailable(str(exc)) from exc


def _alternate(rendition: Rendition, title: str) -> data.AlternateEnclosure:
    hls = rendition.kind == Rendition.Kind.HLS
    return data.AlternateEnclosure(
        mime_type=rendition.mime_type,
        sources=(rendition_url(rendition),),
        length=None if hls else rendition.byte_size,  # a master playlist's size says nothing about the media
        bitrate=float(rendition.bitrate) if rendition.bitrate else None,
        height=rendition.height,
        title=title,
        codecs=rendition.codecs or None,
    )


def _alternates(
    renditions: Sequence[Rendition], video: Video | None, video_renditions: Sequence[Rendition]
) -> tuple[data.AlternateEnclosure, ...]:
    by_kind = {r.kind: r for r in renditions if not r.variant}
    result = [_alternate(by_kind[kind], title) for kind, title in AUDIO_ALTERNATES if kind in by_kind]
    if video is not None:  # only a live source video: its URLs answer 404 otherwise
        mp4s = [r for r in video_renditions if r.kind == Rendition.Kind.VIDEO_MP4]
        for mp4 in sorted(mp4s, key=lambda r: -(r.height or 0)):
            result.append(_alternate(mp4, f"Video {mp4.height}p" if mp4.height else "Video"))
        result += [_alternate(r, "Video (HLS)") for r in video_renditions if r.kind == Rendition.Kind.HLS]
    return tuple(result)


def _transcript(row: TranscriptRow) -> data.Transcript:
    # Podcasting 2.0: rel="captions" marks timed text a player can show in sync (WebVTT and SRT are).
    captions = row.format in {TranscriptRow.Format.VTT, TranscriptRow.Format.SRT}
    return data.Transcript(
        url=transcript_url(row), mime_type=row.mime_type, language=row.language, rel="captions" if captions else None
    )


def _soundbites(episode: Episode) -> tuple[data.Soundbite, ...]:
    bites = []
    for item in episode.soundbites:
        start, duration = float(item["start"]), float(item["duration"])
        if math.isfinite(start) and math.isfinite(duration) and start >= 0 and duration > 0:
            bites.append(data.Soundbite(start=start, duration=duration, title=str(item.get("title", ""))))
    return tuple(bites)


def feed_episode(episode: Episode, rows: FeedRows) -> data.FeedEpisode | None:
    """Item data for a live episode from the bulk-read ``rows``; None when it has no MP3 to enclose."""
    renditions = rows.renditions.get(episode.pk, [])
    mp3 = next((r for r in renditions if r.kind == Rendition.Kind.AUDIO_MP3 and not r.variant), None)
    if mp3 is None or episode.publish_at is None:
        return None  # podcast apps drop items without an enclosure anyway
    persons = tuple(
        data.Person(name=c.person.name, role=c.role, group=c.group, href=c.person.href or None,
                    img=c.person.img or None)
        for c in rows.credits.get(episode.pk, [])
    )  # fmt: skip
    video = rows.videos.get(episode.pk)
    duration = mp3.duration if mp3.duration is not None and math.isfinite(mp3.duration) else None
    return data.FeedEpisode(
        guid=episode.guid,
        title=episode.title,
        summary=episode.summary,
        content_html=episode.show_notes,
        pub_date=episode.publish_at,
        enclosure_url=rendition_url(mp3),
        enclosure_length=mp3.byte_size,
        enclosure_type="audio/mpeg",
        duration=max(duration, 0.0) if duration is not None else None,
        episode=episode.number,
        season=episode.season,
        episode_type=EPISODE_TYPES.get(episode.episode_type, "full"),
        explicit=episode.explicit,
        image_url=artwork_url("e", episode.pk, episode.artwork.name) if episode.artwork.name else None,
        transcripts=tuple(_transcript(t) for t in rows.transcripts.get(episode.pk, [])),
        chapters_url=chapters_url(episode.pk) if episode.chapters else None,
        soundbites=_soundbites(episode),
        persons=persons,
        alternate_enclosures=_alternates(renditions, video, rows.video_renditions.get(video.pk, []) if video else []),
    )


def page_info(*, slug: str, page: int, pages: int) -> data.PageInfo:
    """RFC 5005 links of page ``page`` of ``pages`` (page 1 is the newest)."""
    base = show_feed_url(slug)

    def url(n: int) -> str:
        return f"{base}?page={n}"

    return data.PageInfo(
        first=url(1),
        last=url(pages),
        next=url(page + 1) if page < pages else None,
        previous=url(page - 1) if page > 1 else None,
        url=url(page),
    )


def page_count(live_count: int) -> int:
    return max(1, math.ceil(live_count / PAGE_SIZE))


def feed_inputs(
    *, show: Show, last_build_date: datetime | None = None, hub_url: str | None = None, page: int | None = None,
    live_count: int | None = None,
) -> tuple[data.FeedShow, list[data.FeedEpisode], data.PageInfo | None]:
    """Everything ``build_feed`` needs for ``show`` (all live episodes, or one page of them)."""
    channel = feed_show(
        show_with_credits(show=show), last_build_date=last_build_date or timezone.now(), hub_url=hub_url
    )
    info = None
    if page is None:
        rows = feed_rows(show=show)
    else:
        total = live_count if live_count is not None else feed_episodes(show=show).count()
        info = page_info(slug=show.slug, page=page, pages=page_count(total))
        rows = feed_rows(show=show, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    items = [item for item in (feed_episode(e, rows) for e in rows.episodes) if item is not None]
    return channel, items, info
