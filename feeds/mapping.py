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
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from episodes.categories import parse_category
from episodes.links import absolute, episode_page_path, file_name, hls_folder, show_feed_url
from episodes.models import Rendition, Show
from episodes.models import Transcript as TranscriptRow
from episodes.selectors import feed_episodes
from feeds import data
from feeds.selectors import RENDITION_COLUMNS, FeedRows, feed_rows, show_with_credits

PAGE_SIZE = 100
EPISODE_TYPES: dict[str, data.EpisodeType] = {"full": "full", "trailer": "trailer", "bonus": "bonus"}
AUDIO_ALTERNATES = (("audio_aac", "AAC"), ("audio_opus", "Opus"))
# Plain strings, not the TextChoices members: enum attribute access and hashing cost microseconds per row.
MP3, HLS, VIDEO_MP4 = (
    str(Rendition.Kind.AUDIO_MP3.value),
    str(Rendition.Kind.HLS.value),
    str(Rendition.Kind.VIDEO_MP4.value),
)
CAPTION_FORMATS = frozenset({str(TranscriptRow.Format.VTT.value), str(TranscriptRow.Format.SRT.value)})
TRANSCRIPT_MIME_TYPES = {str(fmt): mime for fmt, mime in TranscriptRow.MIME_TYPES.items()}
R_KIND, R_VARIANT, R_MIME, R_CODECS, R_BITRATE, R_HEIGHT, R_DURATION, R_SIZE, R_KEY, R_SHA = (
    RENDITION_COLUMNS.index(name)
    for name in (
        "kind", "variant", "mime_type", "codecs", "bitrate", "height", "duration", "byte_size", "storage_key", "sha256"
    )
)  # fmt: skip


class FeedUnavailable(Exception):
    """The show's data cannot make a valid feed (e.g. no Apple category yet)."""


def _suffix(name: str) -> str:
    """PurePosixPath(name).suffix for a plain file name (PurePosixPath costs ~10 µs, 8,000 times a feed)."""
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def _file_name(key: str) -> str:
    """PurePosixPath(key).name, with the fast path for ordinary storage keys."""
    if key.endswith(("/", "/.")) or "//" in key or "/./" in key or key in {"", "."}:
        return PurePosixPath(key).name
    return key.rsplit("/", 1)[-1]


def artwork_url(owner: str, owner_id: int, name: str, *, public: str | None = None) -> str:
    """Stable URL of a show's or episode's artwork; the query changes with the file so apps refetch it.

    ``public`` is settings.PUBLIC_BASE_URL, read once by callers that make thousands of URLs.
    """
    version = hashlib.sha256(name.encode()).hexdigest()[:10]
    suffix = _suffix(_file_name(name)).lower() or ".jpg"
    path = f"/d/{owner}/{owner_id}/artwork{suffix}?v={version}"
    return absolute(path) if public is None else f"{public}{path}"


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


def _rendition_url(base: str, row: tuple[Any, ...]) -> str:
    """episodes.links.rendition_url from a rendition row; ``base`` is the owner's ``{PUBLIC_BASE_URL}/d/e/12``."""
    kind, variant, key = row[R_KIND], row[R_VARIANT], row[R_KEY]
    if kind == HLS:
        return f"{base}/{hls_folder(key)}/{_file_name(key)}"
    return f"{base}/{file_name(kind, variant, row[R_SHA] or '', _suffix(_file_name(key)))}"


def _alternate(base: str, row: tuple[Any, ...], title: str) -> data.AlternateEnclosure:
    hls = row[R_KIND] == HLS
    return data.AlternateEnclosure(
        mime_type=row[R_MIME],
        sources=(_rendition_url(base, row),),
        length=None if hls else row[R_SIZE],  # a master playlist's size says nothing about the media
        bitrate=float(row[R_BITRATE]) if row[R_BITRATE] else None,
        height=row[R_HEIGHT],
        title=title,
        codecs=row[R_CODECS] or None,
    )


def _alternates(
    base: str, renditions: Sequence[tuple[Any, ...]], video_base: str, video_renditions: Sequence[tuple[Any, ...]]
) -> tuple[data.AlternateEnclosure, ...]:
    by_kind = {r[R_KIND]: r for r in renditions if not r[R_VARIANT]}
    result = [_alternate(base, by_kind[kind], title) for kind, title in AUDIO_ALTERNATES if kind in by_kind]
    # Only a live source video's renditions are passed: its URLs answer 404 otherwise.
    mp4s = [r for r in video_renditions if r[R_KIND] == VIDEO_MP4]
    for mp4 in sorted(mp4s, key=lambda r: -(r[R_HEIGHT] or 0)):
        result.append(_alternate(video_base, mp4, f"Video {mp4[R_HEIGHT]}p" if mp4[R_HEIGHT] else "Video"))
    result += [_alternate(video_base, r, "Video (HLS)") for r in video_renditions if r[R_KIND] == HLS]
    return tuple(result)


def _transcript(base: str, row: tuple[Any, ...]) -> data.Transcript:
    _, language, fmt = row
    # Podcasting 2.0: rel="captions" marks timed text a player can show in sync (WebVTT and SRT are).
    return data.Transcript(
        url=f"{base}/transcript-{language}.{fmt}", mime_type=TRANSCRIPT_MIME_TYPES[fmt], language=language,
        rel="captions" if fmt in CAPTION_FORMATS else None,
    )  # fmt: skip


def _soundbites(soundbites: Sequence[dict[str, Any]]) -> tuple[data.Soundbite, ...]:
    bites = []
    for item in soundbites:
        start, duration = float(item["start"]), float(item["duration"])
        if math.isfinite(start) and math.isfinite(duration) and start >= 0 and duration > 0:
            bites.append(data.Soundbite(start=start, duration=duration, title=str(item.get("title", ""))))
    return tuple(bites)


def _person(row: tuple[Any, ...]) -> data.Person:
    _, name, role, group, href, img = row
    return data.Person(name=name, role=role, group=group, href=href or None, img=img or None)


def feed_episode(row: tuple[Any, ...], rows: FeedRows, public: str) -> data.FeedEpisode | None:
    """Item data for a live episode row (``EPISODE_COLUMNS``); None when it has no MP3 to enclose.

    ``public`` is settings.PUBLIC_BASE_URL: URLs are built as episodes.links builds them, without its per-call
    settings lookup and PurePosixPath parsing (tests compare both).
    """
    (pk, title, summary, show_notes, season, number, episode_type, explicit, artwork, guid, publish_at, has_chapters,
     soundbites, slug) = row  # fmt: skip
    renditions = rows.renditions.get(pk, ())
    mp3 = next((r for r in renditions if r[R_KIND] == MP3 and not r[R_VARIANT]), None)
    if mp3 is None or publish_at is None:
        return None  # podcast apps drop items without an enclosure anyway
    base = f"{public}/d/e/{pk}"
    video_id = rows.videos.get(pk)
    video_renditions = rows.video_renditions.get(video_id, ()) if video_id is not None else ()
    duration = mp3[R_DURATION] if mp3[R_DURATION] is not None and math.isfinite(mp3[R_DURATION]) else None
    return data.FeedEpisode(
        guid=guid,
        title=title,
        summary=summary,
        content_html=show_notes,
        pub_date=publish_at,
        link=f"{public}{episode_page_path(pk, slug)}",
        enclosure_url=_rendition_url(base, mp3),
        enclosure_length=mp3[R_SIZE],
        enclosure_type="audio/mpeg",
        duration=max(duration, 0.0) if duration is not None else None,
        episode=number,
        season=season,
        episode_type=EPISODE_TYPES.get(episode_type, "full"),
        explicit=explicit,
        image_url=artwork_url("e", pk, artwork, public=public) if artwork else None,
        transcripts=tuple(_transcript(base, t) for t in rows.transcripts.get(pk, ())),
        chapters_url=f"{base}/chapters.json" if has_chapters else None,  # episodes.links.chapters_url
        soundbites=_soundbites(soundbites),
        persons=tuple(_person(c) for c in rows.credits.get(pk, ())),
        alternate_enclosures=_alternates(base, renditions, f"{public}/d/v/{video_id}", video_renditions),
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


def feed_sources(
    *,
    show: Show,
    last_build_date: datetime | None = None,
    hub_url: str | None = None,
    page: int | None = None,
    live_count: int | None = None,
) -> tuple[data.FeedShow, FeedRows, data.PageInfo | None, str]:
    """The channel, the rows of its items (all live episodes, or one page of them), the page's RFC 5005 links and
    the public base URL: what ``feed_inputs`` maps, and what feeds.items builds items from."""
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
    return channel, rows, info, absolute("")


def feed_inputs(
    *,
    show: Show,
    last_build_date: datetime | None = None,
    hub_url: str | None = None,
    page: int | None = None,
    live_count: int | None = None,
) -> tuple[data.FeedShow, list[data.FeedEpisode], data.PageInfo | None]:
    """Everything ``build_feed`` needs for ``show`` (all live episodes, or one page of them)."""
    channel, rows, info, public = feed_sources(
        show=show, last_build_date=last_build_date, hub_url=hub_url, page=page, live_count=live_count
    )
    items = [item for item in (feed_episode(row, rows, public) for row in rows.episodes) if item is not None]
    return channel, items, info
