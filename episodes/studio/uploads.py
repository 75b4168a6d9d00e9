"""The edit page's resumable upload: session-authenticated twins of the API's upload endpoints.

Same services as ``/api/v1/uploads`` (``episodes.services.resumable``): parts with a SHA-256 each, straight to S3
with presigned part URLs when S3 is on, resumable after a dropped connection or a reload (the page asks for the
open session of the same file and sends only the missing parts). The file is sent as soon as it is chosen, so a
form error on the page never asks for it again.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from episodes.models import Episode, UploadSession, Video
from episodes.services import resumable
from episodes.services.errors import DomainError
from episodes.services.uploads import safe_filename

from .views import item_or_404


def _error(exc: DomainError) -> JsonResponse:
    return JsonResponse({"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}, status=exc.status)


def _session_json(item: Episode | Video, session: UploadSession) -> dict[str, Any]:
    parts = resumable.upload_parts(session)
    have = {p.number for p in parts}
    missing = [n for n in range(1, session.part_count + 1) if n not in have]
    name = item._meta.model_name
    local = session.backend == UploadSession.Backend.LOCAL
    return {
        "id": str(session.pk), "state": session.state, "backend": session.backend, "filename": session.filename,
        "byte_size": session.byte_size, "part_size": session.part_size, "part_count": session.part_count,
        "received_bytes": sum(p.byte_size for p in parts), "missing_parts": missing,
        "part_url_template": reverse(f"admin:episodes_{name}_studio_upload_part", args=[item.pk, session.pk, 0])
        .replace("/parts/0/", "/parts/{n}/") if local else None,
        "part_urls": {str(k): v for k, v in resumable.upload_part_urls(session, missing[:1000]).items()},
        "complete_url": reverse(f"admin:episodes_{name}_studio_upload_complete", args=[item.pk, session.pk]),
    }  # fmt: skip


def _open_session(item: Episode | Video, user: Any, session_id: str) -> UploadSession:
    owner = {"episode": item} if isinstance(item, Episode) else {"video": item}
    session = UploadSession.objects.filter(pk=session_id, user=user, **owner).first()
    if session is None:
        raise DomainError("No such upload; start again.", code="not_found")
    return session


@require_http_methods(["POST"])
def upload_start_view(request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: str) -> JsonResponse:
    """Start an upload, or pick up the open one of the same file (name and size) after a reload."""
    item = item_or_404(model_admin, request, pk)
    try:
        body = json.loads(request.body or b"{}")
        filename, size = str(body.get("filename", ""))[:255], int(body.get("byte_size", 0))
    except (ValueError, TypeError):
        return JsonResponse({"error": {"code": "invalid", "message": "Send filename and byte_size."}}, status=400)
    owner = {"episode": item} if isinstance(item, Episode) else {"video": item}
    try:
        existing = (
            UploadSession.objects.filter(user=request.user.pk, state=UploadSession.State.OPEN, byte_size=size, **owner)
            .order_by("-created_at")
            .first()
        )
        if existing is not None and existing.filename == safe_filename(filename):
            return JsonResponse({**_session_json(item, existing), "resumed": True})
        session = resumable.upload_start(user=request.user, owner=item, filename=filename, byte_size=size,
                                         content_type=str(body.get("content_type", ""))[:100])  # fmt: skip
        return JsonResponse({**_session_json(item, session), "resumed": False}, status=201)
    except DomainError as exc:
        return _error(exc)


@require_http_methods(["PUT"])
def upload_part_view(
    request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: str, session_id: str, number: int
) -> JsonResponse:
    item = item_or_404(model_admin, request, pk)
    try:
        session = _open_session(item, request.user, session_id)
        raw_length = request.META.get("CONTENT_LENGTH") or ""
        part = resumable.upload_receive_part(
            session=session, number=number, stream=request, length=int(raw_length) if raw_length.isdigit() else None,
            md5_b64=request.headers.get("Content-MD5"), sha256_hex=request.headers.get("X-Content-SHA256"),
        )  # fmt: skip
    except DomainError as exc:
        return _error(exc)
    return JsonResponse({"number": part.number, "byte_size": part.byte_size, "sha256": part.sha256})


@require_http_methods(["POST"])
def upload_complete_view(
    request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: str, session_id: str
) -> JsonResponse:
    item = item_or_404(model_admin, request, pk)
    try:
        session = resumable.upload_complete(session=_open_session(item, request.user, session_id))
    except DomainError as exc:
        return _error(exc)
    return JsonResponse(_session_json(item, session))
