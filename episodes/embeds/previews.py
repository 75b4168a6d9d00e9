"""Link previews for public pages: Open Graph and Twitter player tags, schema.org JSON-LD, and the video sitemap.

    meta = page_meta(item, player, description="…")    # Meta(tags=[("og:title", "…"), …], json_ld="{…}")
    xml = video_sitemap(videos)                          # bytes of a Google video sitemap

Pure functions of a live item (fetched with ``player.live_item``) and its ``Player``: only live items ever get
here, so drafts never leak. Every URL is absolute (a crawler reads them out of context).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

from episodes.html import html_to_text
from episodes.links import absolute, rendition_url, show_feed_url
from episodes.models import Episode, Rendition, Video

from .player import Player

SITEMAP_MAX_URLS = 50_000  # the sitemap protocol's limit per file
DESCRIPTION_CHARS = 300


@dataclass(frozen=True)
class Meta:
    tags: list[tuple[str, str, str]]  # (attribute, name, content): ("property", "og:title", "…")
    json_ld: SafeString


def iso_duration(seconds: float | None) -> str:
    """``PT1H2M3S`` (ISO 8601), as schema.org wants it; "" when unknown."""
    if not seconds or seconds <= 0:
        return ""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + f"{secs}S"


def json_for_script(data: Any) -> SafeString:
    """JSON safe inside <script type="application/ld+json">: no "</script>", no HTML specials."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return mark_safe(text)  # noqa: S308 - escaped above


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1].rstrip() + "…"


def _image(item: Episode | Video, player: Player) -> str:
    path = player.poster_url or player.artwork_url
    return absolute(path) if path else ""


def _main_video(item: Video) -> Rendition | None:
    videos = [r for r in item.renditions.all() if r.kind == Rendition.Kind.VIDEO_MP4]
    fitting = [r for r in videos if (r.height or 0) <= 720]
    return max(fitting or videos, key=lambda r: r.height or 0) if videos else None


def _main_audio(item: Episode) -> Rendition | None:
    return next((r for r in item.renditions.all() if r.kind == Rendition.Kind.AUDIO_MP3), None)


def page_meta(item: Episode | Video, player: Player, *, description: str) -> Meta:
    """The <meta> tags and JSON-LD of a live item's public page."""
    title, page, embed = item.title, player.page_url, absolute(player.embed_path)
    summary = _short(description or html_to_text(getattr(item, "show_notes", "") or getattr(item, "description", "")))
    image = _image(item, player)
    published = item.publish_at.isoformat() if isinstance(item.publish_at, datetime) else ""
    site = getattr(settings, "OEMBED_PROVIDER_NAME", "") or "Media Hub"
    tags: list[tuple[str, str, str]] = [
        ("property", "og:site_name", site),
        ("property", "og:title", title),
        ("property", "og:url", page),
        ("property", "og:description", summary),
        ("name", "twitter:title", title),
        ("name", "twitter:description", summary),
        # Twitter's player card plays the embed in place (it must be https in production).
        ("name", "twitter:card", "player"),
        ("name", "twitter:player", embed),
        ("name", "twitter:player:width", str(player.width)),
        ("name", "twitter:player:height", str(player.height)),
    ]
    if image:
        tags += [("property", "og:image", image), ("name", "twitter:image", image)]
    duration = iso_duration(player.duration)
    data: dict[str, Any] = {"@context": "https://schema.org", "name": title, "url": page, "description": summary}
    if isinstance(item, Video):
        tags.insert(1, ("property", "og:type", "video.other"))
        main = _main_video(item)
        if main is not None:
            tags += [
                ("property", "og:video", rendition_url(main)),
                ("property", "og:video:type", main.mime_type),
                ("property", "og:video:width", str(main.width or "")),
                ("property", "og:video:height", str(main.height or "")),
            ]
        data.update({"@type": "VideoObject", "embedUrl": embed, "thumbnailUrl": [image] if image else [],
                     "uploadDate": published})  # fmt: skip
        if main is not None:
            data["contentUrl"] = rendition_url(main)
        if duration:
            data["duration"] = duration
    else:
        tags.insert(1, ("property", "og:type", "website"))
        audio = _main_audio(item)
        if audio is not None:
            tags += [("property", "og:audio", rendition_url(audio)), ("property", "og:audio:type", audio.mime_type)]
        data.update({"@type": "PodcastEpisode", "datePublished": published,
                     "partOfSeries": {"@type": "PodcastSeries", "name": item.show.title,
                                      "url": show_feed_url(item.show.slug)}})  # fmt: skip
        if audio is not None:
            media: dict[str, Any] = {"@type": "AudioObject", "contentUrl": rendition_url(audio),
                                     "encodingFormat": audio.mime_type, "embedUrl": embed}  # fmt: skip
            if duration:
                media["duration"] = duration
            data["associatedMedia"] = media
        if duration:
            data["timeRequired"] = duration
        if image:
            data["image"] = image
    return Meta(tags=[t for t in tags if t[2]], json_ld=json_for_script(data))


def video_sitemap(entries: Iterable[tuple[Video, Player]]) -> bytes:
    """A video sitemap (https://developers.google.com/search/docs/crawling-indexing/sitemaps/video-sitemaps)."""
    rows = []
    for video, player in entries:
        main = _main_video(video)
        image = _image(video, player)
        if main is None or not image:
            continue  # Google requires a thumbnail and a content or player location
        fields = [
            ("thumbnail_loc", image),
            ("title", video.title),
            ("description", _short(html_to_text(video.description)) or video.title),
            ("content_loc", rendition_url(main)),
            ("player_loc", absolute(player.embed_path)),
        ]
        if player.duration:
            fields.append(("duration", str(max(1, round(player.duration)))))
        if video.publish_at:
            fields.append(("publication_date", video.publish_at.isoformat()))
        body = "".join(f"<video:{k}>{xml_escape(v)}</video:{k}>" for k, v in fields)
        rows.append(f"<url><loc>{xml_escape(player.page_url)}</loc><video:video>{body}</video:video></url>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:video="http://www.google.com/schemas/sitemap-video/1.1">\n' + "\n".join(rows) + "\n</urlset>\n"
    ).encode()
