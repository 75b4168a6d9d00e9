"""Plain, immutable inputs of the feed builder: what a selector reads from the models.

    show = FeedShow(title="Україна: тиждень", description="…", link="https://example.com/podcast",
                    feed_url="https://example.com/podcast/feed.xml", language="uk",
                    image_url="https://example.com/cover.jpg", categories=(("News", "Daily News"),),
                    explicit=False, author="Newsroom", owner_name="Newsroom", owner_email="pod@example.com",
                    podcast_guid=uuid.UUID("…"), last_build_date=timezone.now())
    episode = FeedEpisode(guid="ep-1", title="…", summary="…", content_html="<p>…</p>",
                          pub_date=timezone.now(), enclosure_url="https://cdn.example.com/ep1.mp3",
                          enclosure_length=12_345_678, enclosure_type="audio/mpeg", duration=1799.6)

Every sequence field is a tuple so instances stay hashable and cannot change under the builder. The checks in
``__post_init__`` catch programming errors early (a naive datetime, a category Apple does not list); they do
not replace validation in the models.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from episodes.categories import APPLE_CATEGORIES

ShowType = Literal["episodic", "serial"]
EpisodeType = Literal["full", "trailer", "bonus"]
IntegrityType = Literal["sri", "pgp-signature"]

_SHOW_TYPES = frozenset({"episodic", "serial"})
_EPISODE_TYPES = frozenset({"full", "trailer", "bonus"})
# podcast:medium values from the Podcasting 2.0 namespace (the "L" list variants included).
MEDIUMS = frozenset(
    {
        "podcast", "music", "video", "film", "audiobook", "newsletter", "blog", "publisher", "course",
        "mixed", "podcastL", "musicL", "videoL", "filmL", "audiobookL", "newsletterL", "blogL",
        "publisherL", "courseL",
    }
)  # fmt: skip


def is_apple_category(category: str, subcategory: str | None = None) -> bool:
    """Tell whether (category, subcategory) is on Apple's list (kept once, in episodes.categories)."""
    subcategories = APPLE_CATEGORIES.get(category)
    if subcategories is None:
        return False
    return subcategory is None or subcategory in subcategories


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")


def _require_seconds(value: float, name: str) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds ≥ 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class Person:
    """A podcast:person: who speaks or works on the show or the episode."""

    name: str
    role: str = "host"
    group: str = "cast"
    href: str | None = None
    img: str | None = None


@dataclass(frozen=True, slots=True)
class Funding:
    """A podcast:funding link: where listeners can support the show."""

    url: str
    text: str


@dataclass(frozen=True, slots=True)
class Transcript:
    """A podcast:transcript: a transcript or captions file for one episode."""

    url: str
    mime_type: str  # text/vtt, application/x-subrip, application/json, text/html, text/plain
    language: str | None = None
    rel: str | None = None  # "captions" when the file is timed captions


@dataclass(frozen=True, slots=True)
class Soundbite:
    """A podcast:soundbite: a shareable excerpt, in seconds from the start of the enclosure."""

    start: float
    duration: float
    title: str = ""

    def __post_init__(self) -> None:
        _require_seconds(self.start, "Soundbite.start")
        _require_seconds(self.duration, "Soundbite.duration")


@dataclass(frozen=True, slots=True)
class Integrity:
    """A podcast:integrity: an SRI hash or a PGP signature of a media file."""

    type: IntegrityType
    value: str


@dataclass(frozen=True, slots=True)
class AlternateEnclosure:
    """A podcast:alternateEnclosure: another rendition of the episode's media, with its sources."""

    mime_type: str
    sources: tuple[str, ...]
    length: int | None = None
    bitrate: float | None = None  # bits per second
    height: int | None = None  # pixels, for video
    title: str | None = None
    codecs: str | None = None  # RFC 6381, e.g. 'mp4a.40.2'
    lang: str | None = None
    default: bool = False
    integrity: Integrity | None = None

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError("AlternateEnclosure needs at least one source URI")


@dataclass(frozen=True, slots=True)
class Chapter:
    """One entry of a Podcasting 2.0 JSON chapters document."""

    start_time: float
    title: str
    img: str | None = None
    url: str | None = None
    toc: bool = True  # False hides the chapter from tables of contents (the spec's "silent" chapters)

    def __post_init__(self) -> None:
        _require_seconds(self.start_time, "Chapter.start_time")


@dataclass(frozen=True, slots=True)
class PageInfo:
    """Links of an RFC 5005 paged feed (section 3); absent relations are None."""

    first: str
    last: str
    next: str | None = None
    previous: str | None = None
    url: str | None = None  # this page's own URL for atom:link rel="self"; None keeps FeedShow.feed_url


@dataclass(frozen=True, slots=True)
class FeedShow:
    """Channel-level data of a podcast feed."""

    title: str
    description: str  # plain text; the builder truncates it to Apple's 4000 bytes
    link: str  # the show's web page
    feed_url: str  # this feed's own URL (atom:link rel="self")
    language: str  # e.g. "uk", "en-GB"
    image_url: str  # 1400–3000 px square JPEG/PNG
    categories: tuple[tuple[str, str | None], ...]  # (category, subcategory) from Apple's list
    explicit: bool
    author: str
    owner_name: str
    owner_email: str
    podcast_guid: uuid.UUID
    last_build_date: datetime
    copyright: str | None = None
    show_type: ShowType = "episodic"
    locked: bool = True  # podcast:locked yes: other hosts may not import this feed
    locked_owner: str | None = None  # e-mail for podcast:locked owner=…; None uses owner_email
    funding: tuple[Funding, ...] = ()
    persons: tuple[Person, ...] = ()
    medium: str = "podcast"
    new_feed_url: str | None = None
    hub_url: str | None = None  # WebSub hub (atom:link rel="hub")

    def __post_init__(self) -> None:
        _require_aware(self.last_build_date, "FeedShow.last_build_date")
        if not self.title.strip() or not self.description.strip():
            raise ValueError("the show needs a title and a description (RSS 2.0 requires both)")
        if not self.categories:
            raise ValueError("the show needs at least one Apple Podcasts category (set it on the show page)")
        for category, subcategory in self.categories:
            if not is_apple_category(category, subcategory):
                raise ValueError(f"not an Apple Podcasts category: {category!r} / {subcategory!r}")
        if self.show_type not in _SHOW_TYPES:
            raise ValueError(f"show_type must be episodic or serial, got {self.show_type!r}")
        if self.medium not in MEDIUMS:
            raise ValueError(f"unknown podcast:medium {self.medium!r}")


@dataclass(frozen=True, slots=True)
class FeedEpisode:
    """Item-level data of one published episode."""

    guid: str  # stable forever: apps use it to tell episodes apart
    title: str
    summary: str  # plain text, becomes <description>
    content_html: str  # show notes; sanitised again before content:encoded
    pub_date: datetime
    enclosure_url: str
    enclosure_length: int  # exact byte size of the file behind enclosure_url
    enclosure_type: str  # MIME type, e.g. audio/mpeg
    duration: float | None = None  # seconds
    link: str | None = None
    episode: int | None = None
    season: int | None = None
    episode_type: EpisodeType = "full"
    explicit: bool = False
    image_url: str | None = None
    transcripts: tuple[Transcript, ...] = ()
    chapters_url: str | None = None  # a JSON chapters document (feeds.podcast_chapters)
    soundbites: tuple[Soundbite, ...] = ()
    persons: tuple[Person, ...] = ()
    alternate_enclosures: tuple[AlternateEnclosure, ...] = ()

    def __post_init__(self) -> None:
        _require_aware(self.pub_date, "FeedEpisode.pub_date")
        if not self.guid.strip():
            raise ValueError("FeedEpisode.guid must not be blank")
        if self.enclosure_length < 0:
            raise ValueError("FeedEpisode.enclosure_length must be ≥ 0")
        if self.duration is not None:
            _require_seconds(self.duration, "FeedEpisode.duration")
        if self.episode_type not in _EPISODE_TYPES:
            raise ValueError(f"episode_type must be full, trailer or bonus, got {self.episode_type!r}")
        for number, name in ((self.episode, "episode"), (self.season, "season")):
            if number is not None and number < 1:
                raise ValueError(f"FeedEpisode.{name} must be a positive integer")
