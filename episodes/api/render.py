"""Episodes and videos as API items: player sources, poster, HLS, transcripts, embed snippet and oEmbed URL.

Works on rows fetched with ``selectors.api_media_prefetch`` so rendering runs no queries.
"""

from __future__ import annotations

from episodes.embeds.player import audio_height
from episodes.html import html_to_text
from episodes.links import (
    chapters_url,
    embed_episode_url,
    embed_iframe_html,
    embed_video_url,
    oembed_url,
    rendition_url,
    show_feed_url,
    transcript_url,
)
from episodes.models import Episode, Rendition, Show, Video
from episodes.schemas import MediaItemOut, RenditionOut, ShowOut, ShowRef, TranscriptOut

Kind = Rendition.Kind
PLAYABLE = {Kind.VIDEO_MP4, Kind.AUDIO_MP3, Kind.AUDIO_AAC, Kind.AUDIO_OPUS}
# Player source order: video by height (from the prefetch), then audio with the most compatible first.
SOURCE_ORDER = {Kind.VIDEO_MP4: 0, Kind.AUDIO_AAC: 1, Kind.AUDIO_MP3: 2, Kind.AUDIO_OPUS: 3}
VIDEO_EMBED_SIZE = (640, 360)
AUDIO_EMBED_SIZE = (640, 180)


def show_out(show: Show) -> ShowOut:
    return ShowOut(
        slug=show.slug,
        title=show.title,
        description=show.description,
        language=show.language,
        author=show.author,
        website_url=show.website_url,
        explicit=show.explicit,
        podcast_guid=show.podcast_guid,
        feed_url=show_feed_url(show.slug),
        categories=show.categories,
        medium=show.medium,
    )


def rendition_out(r: Rendition) -> RenditionOut:
    return RenditionOut(
        kind=r.kind,
        variant=r.variant,
        url=rendition_url(r),
        mime_type=r.mime_type,
        codecs=r.codecs,
        bitrate=r.bitrate,
        width=r.width,
        height=r.height,
        duration=r.duration,
        byte_size=r.byte_size,
    )


def _first_url(renditions: list[Rendition], kind: str) -> str | None:
    found = next((r for r in renditions if r.kind == kind), None)
    return rendition_url(found) if found else None


def media_item_out(item: Episode | Video) -> MediaItemOut:
    renditions = list(item.renditions.all())
    sources = sorted((r for r in renditions if r.kind in PLAYABLE), key=lambda r: SOURCE_ORDER[Kind(r.kind)])
    durations = [r.duration for r in sources if r.duration]
    is_episode = isinstance(item, Episode)
    embed = embed_episode_url(item.pk) if is_episode else embed_video_url(item.pk)
    chapters_count = len(item.chapters or []) if isinstance(item, Episode) else 0
    width, height = (AUDIO_EMBED_SIZE[0], audio_height(chapters_count)) if is_episode else VIDEO_EMBED_SIZE
    chapters = list(item.chapters or []) if isinstance(item, Episode) else []
    return MediaItemOut(
        type="episode" if is_episode else "video",
        id=item.pk,
        title=item.title,
        slug=item.slug,
        description=(item.summary or html_to_text(item.show_notes)) if isinstance(item, Episode) else item.description,
        show=ShowRef(slug=item.show.slug, title=item.show.title),
        status=item.status,
        publish_at=item.publish_at,
        duration=max(durations) if durations else None,
        poster_url=_first_url(renditions, Kind.POSTER),
        thumbnail_url=_first_url(renditions, Kind.THUMBNAIL),
        hls_url=_first_url(renditions, Kind.HLS),
        sources=[rendition_out(r) for r in sources],
        renditions=[rendition_out(r) for r in renditions],
        chapters=chapters,
        chapters_url=chapters_url(item.pk) if chapters else None,
        transcripts=[
            TranscriptOut(language=t.language, format=t.format, mime_type=t.mime_type, url=transcript_url(t))
            for t in item.transcripts.all()
        ],
        embed_url=embed,
        embed_html=embed_iframe_html(
            embed, title=item.title, width=width, height=height, kind="audio" if is_episode else "video"
        ),  # fmt: skip
        oembed_url=oembed_url(embed),
    )
