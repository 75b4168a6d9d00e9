"""What producers' tools send: content fields, publishing, articles and their media, chapters, transcripts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from .dates import PublishDateTime, ZonedDateTime

Text = Annotated[str, Field(max_length=4000)]
Title = Annotated[str, Field(min_length=1, max_length=255)]
Slug = Annotated[str, Field(min_length=1, max_length=100)]
Url = Annotated[str, Field(max_length=1000)]
Count = Annotated[int, Field(ge=1, le=100_000)]


class StrictIn(Schema):
    # Unknown fields are an error, not silently ignored: a typo must not look like a successful update.
    model_config = ConfigDict(extra="forbid")


class ShowPatch(StrictIn):
    title: Title | None = None
    description: Text | None = None
    language: Annotated[str, Field(max_length=16)] | None = None
    categories: list[list[Annotated[str, Field(max_length=100)]]] | None = None
    explicit: bool | None = None
    author: Annotated[str, Field(max_length=255)] | None = None
    owner_name: Annotated[str, Field(max_length=255)] | None = None
    owner_email: Annotated[str, Field(max_length=254)] | None = None
    copyright: Annotated[str, Field(max_length=255)] | None = None
    website_url: Url | None = None
    show_type: Literal["episodic", "serial"] | None = None
    medium: Literal["podcast", "video", "newsletter"] | None = None
    locked: bool | None = None
    # Moving the show away: the feed carries itunes:new-feed-url; feed_moved then answers its URL with a 301.
    new_feed_url: Url | None = None
    feed_moved: bool | None = None


class ShowIn(ShowPatch):
    title: Title
    slug: Slug
    description: Text


class ChapterIn(StrictIn):
    start: Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
    title: Annotated[str, Field(min_length=1, max_length=255)]
    url: Url | None = None
    img: Url | None = None


class ChaptersIn(StrictIn):
    chapters: Annotated[list[ChapterIn], Field(max_length=1000)]


class EpisodePatch(StrictIn):
    title: Title | None = None
    slug: Slug | None = None
    summary: Text | None = None
    show_notes: Annotated[str, Field(max_length=100_000)] | None = None
    season: Count | None = None
    number: Count | None = None
    episode_type: Literal["full", "trailer", "bonus"] | None = None
    explicit: bool | None = None
    guid: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    # Member content (members app): only in members' feeds, or in theirs from members_from and the public's later.
    members_only: bool | None = None
    members_from: ZonedDateTime | None = None


class EpisodeIn(EpisodePatch):
    title: Title
    slug: Slug


class VideoPatch(StrictIn):
    title: Title | None = None
    slug: Slug | None = None
    description: Annotated[str, Field(max_length=100_000)] | None = None


class VideoIn(VideoPatch):
    title: Title
    slug: Slug


class PublishIn(StrictIn):
    publish_at: PublishDateTime | None = Field(None, description="Omit to publish now; a future time schedules.")
    when_ready: bool = Field(
        False, description="Publish the moment processing succeeds (at once if it already has); not with publish_at."
    )


class TranscriptIn(StrictIn):
    language: Annotated[str, Field(min_length=2, max_length=16)]
    format: Literal["vtt", "srt"]
    content: str = Field(description="The WebVTT or SRT text (at most 2 MB).")


class ArticleIn(StrictIn):
    url: Url
    title: Annotated[str, Field(max_length=500)] = ""
    published_at: ZonedDateTime | None = None


class MediaRef(StrictIn):
    type: Literal["episode", "video"]
    id: Annotated[int, Field(ge=1, le=2**62)]


class ArticleMediaIn(StrictIn):
    items: Annotated[list[MediaRef], Field(max_length=500)] = Field(description="All the media, in editorial order.")


class MediaLinkIn(MediaRef):
    position: Annotated[int, Field(ge=0, le=10_000)] | None = Field(None, description="0-based; omit to append.")


class JobOut(Schema):
    id: int
    state: str
    stage: str
    stage_label: str
    progress: int
    attempts: int
    error: str
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    # A long video encoded in chunks by several workers: chunks done of total (null for a whole-file job).
    chunks_done: int | None = None
    chunks_total: int | None = None


class ProcessingOut(Schema):
    status: str
    job: JobOut | None
    publish_when_ready: bool = Field(False, description="Will be published the moment processing succeeds.")
    publish_problem: str = Field("", description="Why the last automatic publish did not happen.")


class TokenOut(Schema):
    user: str
    is_staff: bool
    shows: list[str]
