"""What readers (the news site) get: published media ready to render, and the one error shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel


class Out(BaseModel):
    """Output models are plain pydantic: ninja.Schema's ORM-reading validator costs ~10× more per object, and
    these are always built from values, never from model instances (the article call renders 50 items)."""


class ErrorDetail(Out):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorOut(Out):
    error: ErrorDetail


class ShowRef(Out):
    slug: str
    title: str


class ShowOut(Out):
    slug: str
    title: str
    description: str
    language: str
    author: str
    website_url: str
    explicit: bool
    podcast_guid: UUID
    feed_url: str
    categories: list[list[str | None]]
    medium: str


class RenditionOut(Out):
    kind: str
    variant: str
    url: str
    mime_type: str
    codecs: str
    bitrate: int | None
    width: int | None
    height: int | None
    duration: float | None
    byte_size: int


class TranscriptOut(Out):
    language: str
    format: str
    mime_type: str
    url: str


class MediaItemOut(Out):
    type: Literal["episode", "video"]
    id: int
    title: str
    slug: str
    description: str
    show: ShowRef
    status: str
    publish_at: datetime | None
    duration: float | None
    poster_url: str | None
    thumbnail_url: str | None
    hls_url: str | None
    sources: list[RenditionOut]
    renditions: list[RenditionOut]
    chapters: list[dict[str, Any]]
    chapters_url: str | None
    transcripts: list[TranscriptOut]
    embed_url: str
    embed_html: str
    oembed_url: str


class ArticleOut(Out):
    external_id: str
    url: str
    title: str
    published_at: datetime | None


class ArticleMediaOut(Out):
    article: ArticleOut
    items: list[MediaItemOut]


class MediaPageOut(Out):
    count: int
    limit: int
    offset: int
    items: list[MediaItemOut]
