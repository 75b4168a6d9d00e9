"""The episodes app's API router (mounted under /api/v1/ by media_hub.api)."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router

from episodes.links import show_feed_url
from episodes.models import Show
from episodes.schemas import ShowOut

router = Router(tags=["public"])


def _show_out(show: Show) -> ShowOut:
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
    )


@router.get("/shows", response=list[ShowOut])
def list_shows(request: HttpRequest) -> list[ShowOut]:
    return [_show_out(show) for show in Show.objects.order_by("title")]


@router.get("/shows/{slug}", response=ShowOut)
def get_show(request: HttpRequest, slug: str) -> ShowOut:
    return _show_out(get_object_or_404(Show, slug=slug))
