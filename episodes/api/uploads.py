"""Resumable uploads over HTTP (bearer token).

1. ``POST /uploads`` with the file's size (413 at once if too big) → a session with ``part_size``.
2. Send parts 1..n, in any order, again if needed: S3 backend → PUT to ``part_urls[n]`` (straight to S3);
   local backend → ``PUT /uploads/{id}/parts/{n}`` with ``Content-MD5`` or ``X-Content-SHA256``.
3. ``GET /uploads/{id}`` after a dropped connection: ``missing_parts`` says what to send again.
4. ``POST /uploads/{id}/complete`` → the source is assembled, recorded and queued for processing.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Status

from episodes.auth import request_user
from episodes.links import absolute
from episodes.models import UploadSession
from episodes.schemas import UploadCompleteIn, UploadOut, UploadPartOut, UploadStartIn
from episodes.services import resumable
from episodes.services.article_media import media_ref_resolve
from episodes.services.permissions import require_show_editor, upload_for_user

from .base import TOKEN, WRITE_ERRORS, router

UPLOAD_ERRORS = {**WRITE_ERRORS, 410: WRITE_ERRORS[400], 411: WRITE_ERRORS[400]}


def upload_out(session: UploadSession) -> UploadOut:
    parts = resumable.upload_parts(session)
    have = {p.number for p in parts}
    missing = [n for n in range(1, session.part_count + 1) if n not in have]
    local = session.backend == UploadSession.Backend.LOCAL
    owner = session.episode or session.video
    noun = "episodes" if session.episode_id else "videos"
    return UploadOut(
        id=session.pk,
        state=session.state,
        backend=session.backend,  # type: ignore[arg-type]
        filename=session.filename,
        byte_size=session.byte_size,
        part_size=session.part_size,
        part_count=session.part_count,
        received_bytes=sum(p.byte_size for p in parts),
        parts=[
            UploadPartOut(number=p.number, byte_size=p.byte_size, sha256=p.sha256, md5=p.md5, etag=p.etag)
            for p in parts
        ],  # fmt: skip
        missing_parts=missing,
        part_url_template=absolute(f"/api/v1/uploads/{session.pk}/parts/{{n}}") if local else None,
        part_urls=resumable.upload_part_urls(session, missing[:1000]),
        expires_at=session.expires_at,
        source_id=session.source_id,
        status_url=absolute(f"/api/v1/{noun}/{owner.pk}/processing") if owner else None,
    )


@router.post("/uploads", response={201: UploadOut, **UPLOAD_ERRORS}, auth=TOKEN, tags=["uploads"])
def start_upload(request: HttpRequest, payload: UploadStartIn) -> Status[UploadOut]:
    """Open a resumable upload for an episode's or video's source file."""
    user = request_user(request)
    owner = media_ref_resolve(kind=payload.type, pk=payload.id, user=user)
    require_show_editor(user, owner.show)
    session = resumable.upload_start(
        user=user,
        owner=owner,
        filename=payload.filename,
        byte_size=payload.byte_size,
        part_size=payload.part_size,
        sha256=payload.sha256,
        content_type=payload.content_type,
    )
    return Status(201, upload_out(session))


@router.get("/uploads/{upload_id}", response={200: UploadOut, **UPLOAD_ERRORS}, auth=TOKEN, tags=["uploads"])
def get_upload(request: HttpRequest, upload_id: UUID) -> UploadOut:
    """Where the upload stands: parts stored, parts missing (send those again), expiry."""
    return upload_out(upload_for_user(upload_id, request_user(request)))


@router.put("/uploads/{upload_id}/parts/{number}", response={200: UploadPartOut, **UPLOAD_ERRORS}, auth=TOKEN,
            tags=["uploads"], openapi_extra={"requestBody": {"required": True, "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})  # fmt: skip
def put_part(request: HttpRequest, upload_id: UUID, number: Annotated[int, Field(ge=1, le=100_000)]) -> UploadPartOut:
    """Local backend: the part's raw bytes as the body, with ``Content-MD5`` (base64) or ``X-Content-SHA256``."""
    session = upload_for_user(upload_id, request_user(request))
    raw_length = request.META.get("CONTENT_LENGTH") or ""
    part = resumable.upload_receive_part(
        session=session,
        number=number,
        stream=request,
        length=int(raw_length) if raw_length.isdigit() else None,
        md5_b64=request.headers.get("Content-MD5"),
        sha256_hex=request.headers.get("X-Content-SHA256"),
    )
    return UploadPartOut(number=part.number, byte_size=part.byte_size, sha256=part.sha256, md5=part.md5,
                         etag=part.etag)  # fmt: skip


@router.post("/uploads/{upload_id}/complete", response={200: UploadOut, **UPLOAD_ERRORS}, auth=TOKEN,
             tags=["uploads"])  # fmt: skip
def complete_upload(request: HttpRequest, upload_id: UUID, payload: UploadCompleteIn) -> UploadOut:
    """Check every part, assemble the file and queue it for processing (calling it again is harmless)."""
    session = upload_for_user(upload_id, request_user(request))
    return upload_out(resumable.upload_complete(session=session, sha256=payload.sha256))


@router.delete("/uploads/{upload_id}", response={204: None, **UPLOAD_ERRORS}, auth=TOKEN, tags=["uploads"])
def abort_upload(request: HttpRequest, upload_id: UUID) -> Status[None]:
    resumable.upload_abort(session=upload_for_user(upload_id, request_user(request)))
    return Status(204, None)
