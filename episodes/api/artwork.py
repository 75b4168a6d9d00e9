"""Artwork endpoints: ``PUT /shows/{slug}/artwork`` and ``PUT /episodes/{id}/artwork`` take the image as the body.

The image is normalised as in the admin (episodes.artwork): the response says what is now served.
"""

from __future__ import annotations

from typing import Annotated

from django.core.files.base import ContentFile
from django.http import HttpRequest
from ninja import Field, Schema

from episodes.auth import request_user
from episodes.models import Episode, Show
from episodes.services.artwork import artwork_set
from episodes.services.errors import InvalidInput, NotFound, PayloadTooLarge
from episodes.services.permissions import item_for_write, require_show_editor
from episodes.validators import ARTWORK_MAX_BYTES
from feeds.mapping import artwork_url

from .base import TOKEN, WRITE_ERRORS, router

Id = Annotated[int, Field(ge=1, le=2**62)]
BODY = {"requestBody": {"required": True, "content": {
    t: {"schema": {"type": "string", "format": "binary"}} for t in ("image/jpeg", "image/png")}}}  # fmt: skip


class ArtworkOut(Schema):
    url: str
    mime_type: str
    width: int
    height: int
    byte_size: int


def _body(request: HttpRequest) -> ContentFile[bytes]:
    length = request.META.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > ARTWORK_MAX_BYTES:
        raise PayloadTooLarge("Artwork must be at most 10 MB.")
    data = request.read(ARTWORK_MAX_BYTES + 1)
    if len(data) > ARTWORK_MAX_BYTES:
        raise PayloadTooLarge("Artwork must be at most 10 MB.")
    if not data:
        raise InvalidInput("artwork: Send the JPEG or PNG image as the request body.", fields={"artwork": ["Empty."]})
    name = request.GET.get("filename") or "artwork"
    return ContentFile(data, name=name[:100])


def _out(owner: str, owner_id: int, item: Show | Episode) -> ArtworkOut:
    image = item.artwork
    name = image.name or ""
    mime = "image/png" if name.lower().endswith(".png") else "image/jpeg"
    return ArtworkOut(url=artwork_url(owner, owner_id, name), mime_type=mime, width=image.width,
                      height=image.height, byte_size=image.size)  # fmt: skip


@router.put("/shows/{slug}/artwork", response={200: ArtworkOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"],
            openapi_extra=BODY, summary="Replace the show's artwork (JPEG or PNG body)")  # fmt: skip
def put_show_artwork(request: HttpRequest, slug: str) -> ArtworkOut:
    show = Show.objects.filter(slug=slug).first()
    if show is None:
        raise NotFound("No show with this slug.")
    require_show_editor(request_user(request), show)
    artwork_set(owner=show, file=_body(request))
    return _out("s", show.pk, show)


@router.put("/episodes/{id}/artwork", response={200: ArtworkOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"],
            openapi_extra=BODY, summary="Replace the episode's artwork (JPEG or PNG body)")  # fmt: skip
def put_episode_artwork(request: HttpRequest, id: Id) -> ArtworkOut:
    episode = item_for_write(Episode, id, request_user(request))
    artwork_set(owner=episode, file=_body(request))
    return _out("e", episode.pk, episode)
