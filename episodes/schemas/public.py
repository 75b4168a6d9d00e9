"""What readers (the news site) get: published media ready to render, and the one error shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from ninja import Schema


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorOut(Schema):
    error: ErrorDetail


class ShowRef(Schema):
    slug: str
    title: str


class ShowOut(Schema):
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


class RenditionOut(Schema):
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


class TranscriptOut(Schema):
    language: str
    format: str
    mime_type: str
    url: str


class MediaItemOut(Schema):
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


class ArticleOut(Schema):
    external_id: str
    url: str
    title: str
    published_at: datetime | None


class ArticleMediaOut(Schema):
    article: ArticleOut
    items: list[MediaItemOut]


class MediaPageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[MediaItemOut]
