"""Members over the API (staff, bearer token), mounted by media_hub.api at ``/api/v1/members/``.

PUT    /api/v1/members/{external_id}          grant (idempotent); answers the member's private feed URLs
GET    /api/v1/members/{external_id}          state and feed URLs
DELETE /api/v1/members/{external_id}          revoke: their URLs stop working at the next request
POST   /api/v1/members/{external_id}/rotate   a new token (old URLs stop working)
GET    /api/v1/members/sharing?days=1         tokens used from many networks or apps in a day
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from episodes.api.base import TOKEN
from episodes.auth import request_user
from episodes.schemas import ErrorOut
from episodes.services.errors import NotFound
from episodes.services.permissions import require_staff
from members.models import Member
from members.services import (
    member_feed_urls,
    member_grant,
    member_revoke,
    member_rotate_token,
    sharing_suspects,
)

router = Router(tags=["members"], auth=TOKEN)
ERRORS: dict[int, type] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ExternalId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^/\s]+$")]


class MemberOut(Schema):
    external_id: str
    active: bool
    granted_at: datetime
    revoked_at: datetime | None
    feeds: dict[str, str]


class SharingOut(Schema):
    external_id: str
    day: date
    networks: int
    apps: int


def _out(member: Member) -> MemberOut:
    return MemberOut(
        external_id=member.external_id, active=member.active, granted_at=member.granted_at,
        revoked_at=member.revoked_at, feeds=member_feed_urls(member) if member.active else {},
    )  # fmt: skip


@router.get("/sharing", response={200: list[SharingOut], **ERRORS})
def sharing(request: HttpRequest, days: Query[int] = 1) -> list[SharingOut]:
    require_staff(request_user(request))
    return [SharingOut(**vars(s)) for s in sharing_suspects(days=max(1, min(days, 30)))]


@router.get("/{external_id}", response={200: MemberOut, **ERRORS})
def member_get(request: HttpRequest, external_id: ExternalId) -> MemberOut:
    require_staff(request_user(request))
    member = Member.objects.filter(external_id=external_id).first()
    if member is None:
        raise NotFound("No member with this id.")
    return _out(member)


@router.put("/{external_id}", response={200: MemberOut, **ERRORS})
def member_put(request: HttpRequest, external_id: ExternalId) -> MemberOut:
    require_staff(request_user(request))
    return _out(member_grant(external_id=external_id))


@router.delete("/{external_id}", response={200: MemberOut, **ERRORS})
def member_delete(request: HttpRequest, external_id: ExternalId) -> MemberOut:
    require_staff(request_user(request))
    if not Member.objects.filter(external_id=external_id).exists():
        raise NotFound("No member with this id.")
    return _out(member_revoke(external_id=external_id))


@router.post("/{external_id}/rotate", response={200: MemberOut, **ERRORS})
def member_rotate(request: HttpRequest, external_id: ExternalId) -> MemberOut:
    require_staff(request_user(request))
    return _out(member_rotate_token(external_id=external_id))
