"""Producer endpoints for social clips made from an episode's soundbites."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest
from ninja import Field, Schema, Status

from episodes.auth import request_user
from episodes.models import Episode, SoundbiteClip
from episodes.services.clips import clip_request
from episodes.services.errors import NotFound
from episodes.services.permissions import item_for_write

from .base import TOKEN, WRITE_ERRORS, router

Id = Annotated[int, Field(ge=1, le=2**62)]


class ClipIn(Schema):
    soundbite: Annotated[int, Field(ge=0, le=1000, description="The soundbite's index in the episode's list.")]
    format: Literal["vertical", "square"]


class ClipOut(Schema):
    id: int
    episode_id: int
    title: str
    start: float
    duration: float
    format: str
    state: str
    progress: float
    error: str
    byte_size: int | None
    download_url: str | None
    created_at: datetime


def clip_out(clip: SoundbiteClip) -> ClipOut:
    done = clip.state == SoundbiteClip.State.SUCCEEDED
    return ClipOut(
        id=clip.pk, episode_id=clip.episode_id, title=clip.title, start=clip.start, duration=clip.duration,
        format=clip.format, state=clip.state, progress=clip.progress, error=clip.error, byte_size=clip.byte_size,
        download_url=f"/api/v1/clips/{clip.pk}/download" if done else None, created_at=clip.created_at,
    )  # fmt: skip


@router.post("/episodes/{id}/clips", response={201: ClipOut, **WRITE_ERRORS}, auth=TOKEN, tags=["clips"])
def create_clip(request: HttpRequest, id: Id, payload: ClipIn) -> Status[ClipOut]:
    """Make a vertical or square MP4 of one soundbite (artwork, title, waveform, captions); rendered by a worker."""
    episode = item_for_write(Episode, id, request_user(request))
    return Status(201, clip_out(clip_request(episode=episode, soundbite=payload.soundbite, fmt=payload.format)))


@router.get("/episodes/{id}/clips", response={200: list[ClipOut], **WRITE_ERRORS}, auth=TOKEN, tags=["clips"])
def list_clips(request: HttpRequest, id: Id) -> list[ClipOut]:
    episode = item_for_write(Episode, id, request_user(request))
    return [clip_out(c) for c in episode.clips.order_by("-created_at", "-id")]


def _clip_for(request: HttpRequest, clip_id: int) -> SoundbiteClip:
    clip = SoundbiteClip.objects.filter(pk=clip_id).first()
    if clip is None:
        raise NotFound("No clip with this id.")
    item_for_write(Episode, clip.episode_id, request_user(request))  # only the show's producers (and staff)
    return clip


@router.get("/clips/{id}", response={200: ClipOut, **WRITE_ERRORS}, auth=TOKEN, tags=["clips"])
def get_clip(request: HttpRequest, id: Id) -> ClipOut:
    """One clip with its state and progress (0–1)."""
    return clip_out(_clip_for(request, id))


@router.get("/clips/{id}/download", response={200: None, **WRITE_ERRORS}, auth=TOKEN, tags=["clips"])
def download_clip(request: HttpRequest, id: Id) -> FileResponse:
    """The clip's MP4, as an attachment."""
    clip = _clip_for(request, id)
    if clip.state != SoundbiteClip.State.SUCCEEDED or not clip.storage_key:
        raise NotFound("This clip is not ready.")
    name = f"{clip.episode.slug or 'clip'}-{clip.format}{Path(clip.storage_key).suffix}"
    return FileResponse(default_storage.open(clip.storage_key, "rb"), as_attachment=True, filename=name,
                        content_type="video/mp4")  # fmt: skip
