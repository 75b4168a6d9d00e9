"""API schemas. Fields are listed one by one: nothing internal or unpublished leaks by accident."""

from __future__ import annotations

from uuid import UUID

from ninja import Schema


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
