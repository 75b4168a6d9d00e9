"""What a player shows for one live episode or video: sources, poster, captions, storyboard, chapters, size.

    item = live_item("video", 3)                      # None for drafts, scheduled and unknown ids: never leak
    player = player_for(item, start=90, autoplay=True)
    render(request, "episodes/embed/embed.html", {"player": player})

Media URLs are same-origin paths under ``/d/`` (episodes.links), so an embed makes no third-party request.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import get_language_info

from episodes.links import (
    absolute,
    embed_path,
    episode_page_path,
    rendition_path,
    show_feed_path,
    transcript_path,
    video_page_path,
)
from episodes.models import Article, Episode, Rendition, Transcript, Video
from episodes.selectors import api_media_prefetch, is_live_q

Kind = Literal["video", "episode"]
KINDS: tuple[Kind, ...] = ("video", "episode")
VIDEO_WIDTH = 640
AUDIO_WIDTH = 640
# The audio embed's height: player, title line, tools and chapter bar, then one line per chapter. Chapter lines
# never wrap (ellipsis), so the height does not depend on the width: a narrow embed shows every chapter too.
AUDIO_BASE_HEIGHT = 180
CHAPTER_ROW_HEIGHT = 30
AUDIO_SIZE = (AUDIO_WIDTH, AUDIO_BASE_HEIGHT)
# The ladder rung an embed starts with: sharp enough for an article column, light enough for phones.
PREFERRED_HEIGHT = 720
MAX_START_SECONDS = 24 * 3600
# Most compatible audio first: the browser takes the first <source> it can play.
AUDIO_ORDER: dict[str, int] = {Rendition.Kind.AUDIO_AAC: 0, Rendition.Kind.AUDIO_MP3: 1, Rendition.Kind.AUDIO_OPUS: 2}
_CLOCK = re.compile(r"^(?:(?:(\d{1,2}):)?(\d{1,2}):)?(\d{1,5}(?:\.\d{1,3})?)$")
_UNITS = re.compile(r"^(?:(\d{1,2})h)?(?:(\d{1,4})m)?(?:(\d{1,5}(?:\.\d{1,3})?)s)?$")


@dataclass(frozen=True)
class Source:
    url: str
    type: str
    label: str = ""


@dataclass(frozen=True)
class Track:
    url: str
    language: str
    label: str
    default: bool = False


@dataclass(frozen=True)
class ChapterItem:
    start: float
    title: str
    clock: str


@dataclass(frozen=True)
class ArticleLink:
    url: str
    title: str


@dataclass(frozen=True)
class Player:
    kind: Kind
    item_id: int
    title: str
    show_title: str
    element: Literal["video", "audio"]
    width: int
    height: int
    page_path: str
    embed_path: str
    feed_path: str
    sources: list[Source]
    hls_url: str = ""
    page_url: str = ""
    poster_url: str = ""
    artwork_url: str = ""
    storyboard_url: str = ""
    tracks: list[Track] = field(default_factory=list)
    transcript_links: list[Track] = field(default_factory=list)
    chapters: list[ChapterItem] = field(default_factory=list)
    duration: float | None = None
    start: float = 0.0
    autoplay: bool = False

    @property
    def start_fragment(self) -> str:
        """A media fragment (``#t=90``) so the MP4 sources start there even without JavaScript."""
        return f"#t={self.start:g}" if self.start > 0 else ""


def live_item(kind: str, item_id: int) -> Episode | Video | None:
    """A published episode or video with its renditions and transcripts; None for anything not live."""
    model: type[Episode] | type[Video]
    if kind == "video":
        model = Video
    elif kind == "episode":
        model = Episode
    else:
        return None
    qs = api_media_prefetch(model.objects.filter(is_live_q(), pk=item_id))
    articles = Article.objects.exclude(published_at__gt=timezone.now()).order_by("-published_at", "-id")
    return qs.prefetch_related(Prefetch("articles", queryset=articles)).first()


def kind_of(item: Episode | Video) -> Kind:
    return "episode" if isinstance(item, Episode) else "video"


def parse_start(raw: str | None) -> float:
    """``?t=`` as seconds: ``90``, ``1:30``, ``1:02:03``, ``1m30s``, ``1h2m``; 0 when absent or not understood."""
    value = (raw or "").strip().lower()
    if not value or len(value) > 16:
        return 0.0
    clock = _CLOCK.match(value)
    units = None if clock else _UNITS.match(value)
    match = clock or units
    if match is None:
        return 0.0
    hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    return total if 0 < total <= MAX_START_SECONDS else 0.0


def clock(seconds: float) -> str:
    """``75`` → ``1:15``; ``3725`` → ``1:02:05``."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _language_label(code: str) -> str:
    for candidate in (code, code.split("-")[0]):
        try:
            return str(get_language_info(candidate.lower())["name_local"])
        except KeyError:
            continue
    return code


def _video_sources(renditions: list[Rendition]) -> list[Source]:
    videos = [r for r in renditions if r.kind == Rendition.Kind.VIDEO_MP4]
    fitting = [r for r in videos if (r.height or 0) <= PREFERRED_HEIGHT]
    first = max(fitting, key=lambda r: r.height or 0) if fitting else min(videos, key=lambda r: r.height or 0)
    ordered = [first] + [r for r in videos if r.pk != first.pk]
    return [Source(rendition_path(r), _source_type(r), r.variant) for r in ordered]


def _source_type(r: Rendition) -> str:
    # RFC 6381 codecs let a browser skip a source it cannot decode without fetching it.
    if r.codecs and "." in r.codecs and r.mime_type.startswith("video/"):
        return f'{r.mime_type}; codecs="{r.codecs}"'
    return r.mime_type


def audio_height(chapter_count: int) -> int:
    return AUDIO_BASE_HEIGHT + CHAPTER_ROW_HEIGHT * chapter_count


def _artwork_path(item: Episode | Video) -> str:
    """The episode's (else the show's) cover, as served by the delivery views; "" when there is none."""
    for owner, owner_id, image in (
        ("e", item.pk, getattr(item, "artwork", None)),
        ("s", item.show_id, item.show.artwork),
    ):
        if image and image.name:
            return f"/d/{owner}/{owner_id}/artwork.{image.name.rsplit('.', 1)[-1].lower()}"
    return ""


def _size(renditions: list[Rendition], is_video: bool, chapter_count: int = 0) -> tuple[int, int]:
    if not is_video:
        return AUDIO_WIDTH, audio_height(chapter_count)
    sized = [r for r in renditions if r.kind == Rendition.Kind.VIDEO_MP4 and r.width and r.height]
    if not sized:
        return VIDEO_WIDTH, VIDEO_WIDTH * 9 // 16
    top = max(sized, key=lambda r: r.height or 0)
    height = math.floor(VIDEO_WIDTH * (top.height or 9) / (top.width or 16) / 2) * 2
    return VIDEO_WIDTH, max(2, height)


def _first_path(renditions: list[Rendition], kind: str) -> str:
    found = next((r for r in renditions if r.kind == kind), None)
    return rendition_path(found) if found else ""


def player_for(item: Episode | Video, *, start: float = 0.0, autoplay: bool = False) -> Player:
    """Everything a template needs for ``item`` (fetched with ``live_item``; runs no further queries)."""
    renditions = list(item.renditions.all())
    is_video = isinstance(item, Video)
    if is_video:
        sources = _video_sources(renditions) if any(r.kind == Rendition.Kind.VIDEO_MP4 for r in renditions) else []
    else:
        audio = sorted((r for r in renditions if r.kind in AUDIO_ORDER), key=lambda r: AUDIO_ORDER[r.kind])
        sources = [Source(rendition_path(r), r.mime_type) for r in audio]
    vtts: list[Transcript] = [t for t in item.transcripts.all() if t.format == Transcript.Format.VTT]
    tracks = [
        # Muted autoplay needs the words on screen: the first captions track is on by default then.
        Track(transcript_path(t), t.language, _language_label(t.language), default=autoplay and i == 0)
        for i, t in enumerate(vtts)
    ]
    durations = [r.duration for r in renditions if r.duration and r.kind in {*AUDIO_ORDER, Rendition.Kind.VIDEO_MP4}]
    chapters = [
        ChapterItem(float(c["start"]), str(c["title"]), clock(float(c["start"])))
        for c in (item.chapters if isinstance(item, Episode) else [])
    ]
    width, height = _size(renditions, is_video, len(chapters))
    kind = kind_of(item)
    page = video_page_path(item.pk, item.slug) if is_video else episode_page_path(item.pk, item.slug)
    return Player(
        kind=kind,
        item_id=item.pk,
        title=item.title,
        show_title=item.show.title,
        element="video" if is_video else "audio",
        width=width,
        height=height,
        page_path=page,
        embed_path=embed_path(kind, item.pk),
        feed_path=show_feed_path(item.show.slug),
        sources=sources,
        hls_url=_first_path(renditions, Rendition.Kind.HLS) if is_video else "",
        page_url=absolute(page),
        artwork_url=_artwork_path(item),
        poster_url=_first_path(renditions, Rendition.Kind.POSTER) if is_video else "",
        storyboard_url=_first_path(renditions, Rendition.Kind.STORYBOARD_VTT) if is_video else "",
        tracks=tracks if is_video else [],
        transcript_links=[]
        if is_video
        else [Track(transcript_path(t), t.language, _language_label(t.language)) for t in vtts],  # fmt: skip
        chapters=chapters,
        duration=max(durations) if durations else None,
        start=start,
        autoplay=autoplay,
    )


def article_links(item: Episode | Video) -> list[ArticleLink]:
    """The news articles the item belongs to (http(s) links only), newest first."""
    return [
        ArticleLink(a.url, a.title or a.url) for a in item.articles.all() if a.url.startswith(("https://", "http://"))
    ]
