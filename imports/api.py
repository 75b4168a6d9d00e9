"""Imports over the API (staff bearer token), mounted by media_hub.api at ``/api/v1/imports/``.

POST /api/v1/imports            {"url": "https://old-host.example/feed.xml", "show": "slug"?}  → 201 the job
POST /api/v1/imports/upload     multipart: file=<feed.xml>, show=<slug>?                       → 201 the job
GET  /api/v1/imports/{id}       the job with each item's state, bytes downloaded and error
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from episodes.api.base import TOKEN
from episodes.auth import request_user
from episodes.models import Show
from episodes.schemas import ErrorOut
from episodes.services.errors import InvalidInput, NotFound
from episodes.services.permissions import require_staff
from imports.models import ImportJob
from imports.services import import_create

router = Router(tags=["imports"], auth=TOKEN)
ERRORS: dict[int, type] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut}


class ImportIn(Schema):
    url: str
    show: str | None = None


class ItemOut(Schema):
    guid: str
    title: str
    state: str
    error: str
    attempts: int
    bytes_done: int
    bytes_total: int | None
    episode_id: int | None
    original_publish_at: datetime | None


class ImportOut(Schema):
    id: int
    state: str
    error: str
    source_url: str
    show: str | None
    items_seen: int
    items_new: int
    items: list[ItemOut]


def _show(slug: str | None) -> Show | None:
    if not slug:
        return None
    show = Show.objects.filter(slug=slug).first()
    if show is None:
        raise NotFound("No show with this slug.")
    return show


def _out(job: ImportJob) -> ImportOut:
    items = [ItemOut(guid=i.guid, title=i.title, state=i.state, error=i.error, attempts=i.attempts,
                     bytes_done=i.bytes_done, bytes_total=i.bytes_total, episode_id=i.episode_id,
                     original_publish_at=i.original_publish_at) for i in job.items.all()]  # fmt: skip
    return ImportOut(id=job.pk, state=job.state, error=job.error, source_url=job.source_url,
                     show=job.show.slug if job.show else None, items_seen=job.items_seen, items_new=job.items_new,
                     items=items)  # fmt: skip


@router.post("", response={201: ImportOut, **ERRORS})
def import_from_url(request: HttpRequest, payload: ImportIn) -> Status[ImportOut]:
    require_staff(request_user(request))
    return Status(201, _out(import_create(url=payload.url, show=_show(payload.show))))


@router.post("/upload", response={201: ImportOut, **ERRORS})
def import_from_file(
    request: HttpRequest, file: File[UploadedFile], show: Form[str | None] = None
) -> Status[ImportOut]:
    require_staff(request_user(request))
    if (file.size or 0) > settings.IMPORT_MAX_FEED_BYTES:
        raise InvalidInput("The document is too large.", fields={"file": ["Too large."]})
    return Status(201, _out(import_create(document=file.read(), show=_show(show))))


@router.get("/{int:job_id}", response={200: ImportOut, **ERRORS})
def import_get(request: HttpRequest, job_id: int) -> ImportOut:
    require_staff(request_user(request))
    job = ImportJob.objects.select_related("show").filter(pk=job_id).first()
    if job is None:
        raise NotFound("No import with this id.")
    return _out(job)
