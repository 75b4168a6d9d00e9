"""Absolute public URLs (feeds, pages, embeds, delivery), built from PUBLIC_BASE_URL."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.conf import settings

if TYPE_CHECKING:
    from episodes.models import Rendition, Transcript


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def show_feed_path(slug: str) -> str:
    return f"/feeds/{quote(slug)}.xml"


def show_feed_url(slug: str) -> str:
    """The feed URL podcast apps subscribe to; its UUIDv5 is the show's permanent `podcast:guid`."""
    return absolute(show_feed_path(slug))


def _owner_path(episode_id: int | None, video_id: int | None) -> str:
    if episode_id is not None:
        return f"/d/e/{episode_id}"
    return f"/d/v/{video_id}"


VERSION_LENGTH = 12


def file_name(kind: str, variant: str, sha256: str, suffix: str) -> str:
    """A rendition's file name under its owner's path: kind, variant and a version of its bytes.

    ``audio_mp3.3f1c0a9b52de.mp3``: the version is the start of the file's sha256, so a file whose bytes change
    (tags rewritten, media re-processed) gets a new URL and a cache (a CDN keeps media for an hour) can never
    answer the new URL with the old bytes, nor the old URL with the new ones (old URLs redirect: feeds.delivery).
    """
    version = f".{sha256[:VERSION_LENGTH]}" if sha256 else ""
    return f"{kind}{'-' + variant if variant else ''}{version}{suffix}"


def hls_folder(storage_key: str) -> str:
    """``hls-<version>``: the folder an HLS package is served under, one per processing run (its storage folder),
    so a re-processed package's segments, which keep their names, never meet the old ones' cached bytes."""
    run = PurePosixPath(storage_key).parent
    return f"hls-{hashlib.sha256(str(run).encode()).hexdigest()[:VERSION_LENGTH]}"


def rendition_path(rendition: Rendition) -> str:
    """The delivery path of a rendition: kind + variant + a version of its bytes (never the storage key).

    ``/d/e/12/audio_mp3.3f1c0a9b52de.mp3``, ``/d/v/3/video_mp4-720p.0b1d….mp4``,
    ``/d/v/3/hls-5e0c1d2a3b4f/master.m3u8`` (HLS playlists refer to their segments relatively, so segments resolve
    under the same versioned folder).
    """
    base = _owner_path(rendition.episode_id, rendition.video_id)
    if rendition.kind == "hls":
        return f"{base}/{hls_folder(rendition.storage_key)}/{PurePosixPath(rendition.storage_key).name}"
    suffix = PurePosixPath(rendition.storage_key).suffix
    return f"{base}/{file_name(rendition.kind, rendition.variant, rendition.sha256, suffix)}"


def rendition_url(rendition: Rendition) -> str:
    return absolute(rendition_path(rendition))


def transcript_path(transcript: Transcript) -> str:
    base = _owner_path(transcript.episode_id, transcript.video_id)
    return f"{base}/transcript-{transcript.language}.{transcript.format}"


def transcript_url(transcript: Transcript) -> str:
    return absolute(transcript_path(transcript))


def chapters_url(episode_id: int) -> str:
    """The Podcasting 2.0 JSON chapters document of an episode."""
    return absolute(f"/d/e/{episode_id}/chapters.json")


def embed_episode_url(episode_id: int) -> str:
    """The embeddable player page of an episode (an iframe's ``src``)."""
    return absolute(f"/embed/episode/{episode_id}/")


def embed_video_url(video_id: int) -> str:
    """The embeddable player page of a video (an iframe's ``src``)."""
    return absolute(f"/embed/video/{video_id}/")


def oembed_url(target_url: str) -> str:
    """The oEmbed endpoint describing ``target_url`` (an embed page)."""
    return absolute(f"/oembed?url={quote(target_url, safe='')}")


def embed_host_script_url() -> str:
    """The host-page script that sizes audio embeds from their postMessage (episodes/static/episodes/embed-host.js)."""
    from django.templatetags.static import static

    return absolute(static("episodes/embed-host.js"))


def embed_iframe_html(src: str, *, title: str, width: int, height: int, kind: str = "video") -> str:
    """The snippet a page pastes to embed a player; every value is escaped.

    Video: full width of its column at the video's aspect ratio (CSS ``aspect-ratio``; ``width``/``height`` are the
    fallback), so a phone shows the picture edge to edge. Audio: full width up to ``width``, and the host script
    sets the height the player reports, so its chapters never clip or scroll.
    """
    from django.utils.html import escape

    w, h = max(1, int(width)), max(1, int(height))
    if kind == "video":
        style = f"width:100%;height:auto;aspect-ratio:{w}/{h};border:0;display:block"
    else:
        style = f"width:100%;max-width:{w}px;height:{h}px;border:0;display:block"
    iframe = (
        f'<iframe src="{escape(src)}" title="{escape(title)}" width="{w}" height="{h}" style="{style}" '
        'frameborder="0" loading="lazy" allow="autoplay; fullscreen; picture-in-picture; clipboard-write" '
        "allowfullscreen></iframe>"
    )
    if kind == "video":
        return iframe
    script = escape(embed_host_script_url())
    return f'{iframe}<script src="{script}" async></script>'


def embed_path(kind: str, item_id: int) -> str:
    """``/embed/video/3/`` or ``/embed/episode/12/`` (``kind`` is "video" or "episode")."""
    return f"/embed/{kind}/{int(item_id)}/"


def video_page_path(video_id: int, slug: str) -> str:
    """The public page of a video; the slug (any script) is percent-encoded."""
    return f"/videos/{int(video_id)}/{quote(slug, safe='')}/"


def episode_page_path(episode_id: int, slug: str) -> str:
    """The public page of an episode; the slug (any script) is percent-encoded."""
    return f"/episodes/{int(episode_id)}/{quote(slug, safe='')}/"


def video_page_url(video_id: int, slug: str) -> str:
    return absolute(video_page_path(video_id, slug))


def episode_page_url(episode_id: int, slug: str) -> str:
    return absolute(episode_page_path(episode_id, slug))


def oembed_discovery_urls(target_url: str) -> dict[str, str]:
    """The JSON and XML oEmbed URLs a public page advertises in ``<link rel="alternate">``."""
    base = oembed_url(target_url)
    return {"json": f"{base}&format=json", "xml": f"{base}&format=xml"}
