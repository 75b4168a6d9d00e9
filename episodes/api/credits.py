"""Credits endpoints: ``PUT /shows/{slug}/credits`` and ``PUT /episodes/{id}/credits`` replace the people credited.

Group and role are checked against the Podcast Taxonomy (case-insensitive) and come back in its spelling.
"""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Schema

from episodes.auth import request_user
from episodes.models import Episode, EpisodePerson, Show, ShowPerson
from episodes.services.credits import MAX_CREDITS, credits_set
from episodes.services.errors import NotFound
from episodes.services.permissions import item_for_write, require_show_editor

from .base import TOKEN, WRITE_ERRORS, router

Id = Annotated[int, Field(ge=1, le=2**62)]
Short = Annotated[str, Field(max_length=128)]
Url = Annotated[str, Field(max_length=1000)]


class CreditIn(Schema):
    name: Short
    role: Short | None = Field(None, description="A Podcast Taxonomy role (any case); default Host.")
    group: Short | None = Field(None, description="A Podcast Taxonomy group (any case); default Cast.")
    href: Url | None = None
    img: Url | None = None


class CreditsIn(Schema):
    credits: Annotated[list[CreditIn], Field(max_length=MAX_CREDITS)]


class CreditOut(Schema):
    name: str
    role: str
    group: str
    href: str
    img: str


class CreditsOut(Schema):
    credits: list[CreditOut]


def _out(rows: list[ShowPerson] | list[EpisodePerson]) -> CreditsOut:
    return CreditsOut(credits=[CreditOut(name=r.person.name, role=r.role, group=r.group, href=r.person.href,
                                         img=r.person.img) for r in rows])  # fmt: skip


@router.put("/shows/{slug}/credits", response={200: CreditsOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"],
            summary="Replace the people credited on the show (podcast:person)")  # fmt: skip
def put_show_credits(request: HttpRequest, slug: str, payload: CreditsIn) -> CreditsOut:
    show = Show.objects.filter(slug=slug).first()
    if show is None:
        raise NotFound("No show with this slug.")
    require_show_editor(request_user(request), show)
    return _out(credits_set(owner=show, credits=[c.dict() for c in payload.credits]))


@router.put("/episodes/{id}/credits", response={200: CreditsOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"],
            summary="Replace the people credited on the episode (podcast:person)")  # fmt: skip
def put_episode_credits(request: HttpRequest, id: Id, payload: CreditsIn) -> CreditsOut:
    episode = item_for_write(Episode, id, request_user(request))
    return _out(credits_set(owner=episode, credits=[c.dict() for c in payload.credits]))
