"""Absolute public URLs (feeds, pages, embeds, delivery), built from PUBLIC_BASE_URL."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def show_feed_path(slug: str) -> str:
    return f"/feeds/{quote(slug)}.xml"


def show_feed_url(slug: str) -> str:
    """The feed URL podcast apps subscribe to; its UUIDv5 is the show's permanent `podcast:guid`."""
    return absolute(show_feed_path(slug))
