"""Uploaded sources: store them, and queue them for processing."""

from __future__ import annotations

import hashlib
import mimetypes
import unicodedata
import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from episodes.models import Episode, MediaSource, ProcessingJob, Status, Video

from .errors import InvalidInput, PayloadTooLarge
from .outbox import job_send_on_commit

EMPTY_FILE = "The file is empty (0 bytes): choose the recording itself and upload it again."


def safe_filename(name: str) -> str:
    """Keep the producer's name (Unicode included) but never a path, control characters or a leading dot."""
    base = PurePath(name.replace("\\", "/")).name
    base = unicodedata.normalize("NFC", base)
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '/\\:*?"<>|').strip().lstrip(".")
    return cleaned[:200] or "upload"


def owner_prefix(owner: Episode | Video) -> str:
    return f"{'episodes' if isinstance(owner, Episode) else 'videos'}/{owner.pk}"


def media_source_create(*, owner: Episode | Video, file: File, filename: str, content_type: str = "") -> MediaSource:
    """Store an upload as the owner's newest source (the bytes stream to storage) and queue processing."""
    size = file.size
    if size is None:
        raise InvalidInput("The upload has no size.")
    if size > settings.MEDIA_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(
            f"The file is {size / 1024**3:.1f} GB; the limit is {settings.MEDIA_MAX_UPLOAD_BYTES / 1024**3:.1f} GB."
        )
    if size == 0:
        raise InvalidInput(EMPTY_FILE, fields={"file": [EMPTY_FILE]})
    name = safe_filename(filename)
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    stored_key = default_storage.save(source_key_for(owner, name), file)
    return media_source_register(
        owner=owner,
        storage_key=stored_key,
        filename=name,
        byte_size=size,
        sha256=digest.hexdigest(),
        content_type=content_type,
    )


def source_key_for(owner: Episode | Video, filename: str) -> str:
    """A fresh storage key for a new source of ``owner`` (a new folder each time: sources are never overwritten)."""
    return f"sources/{owner_prefix(owner)}/{uuid.uuid4().hex[:12]}/{safe_filename(filename)}"


def media_source_register(
    *, owner: Episode | Video, storage_key: str, filename: str, byte_size: int, sha256: str = "", content_type: str = ""
) -> MediaSource:
    """Record a file already stored at ``storage_key`` as the owner's newest source and queue processing.

    The stored file is never deleted here, whatever fails: a retried completion needs it, and a source is deleted
    only with its episode or video. Queuing is part of the committed rows (the job row is the outbox); the message
    to the broker is sent after the commit, best effort.
    """
    name = safe_filename(filename)
    with transaction.atomic():
        source = MediaSource.objects.create(
            episode=owner if isinstance(owner, Episode) else None,
            video=owner if isinstance(owner, Video) else None,
            storage_key=storage_key,
            original_filename=name,
            content_type=content_type or mimetypes.guess_type(name)[0] or "",
            byte_size=byte_size,
            sha256=sha256,
        )
        media_enqueue_processing(source=source)
    return source


def media_enqueue_processing(*, source: MediaSource) -> ProcessingJob:
    """Queue a job for ``source``; its message is sent once the surrounding transaction commits (best effort)."""
    owner: Episode | Video = source.episode or source.video  # type: ignore[assignment]
    job = ProcessingJob.objects.create(source=source, max_attempts=settings.MEDIA_JOB_MAX_ATTEMPTS)
    # A published item stays published on its current renditions until the new ones are swapped in.
    if type(owner).objects.filter(pk=owner.pk).exclude(status=Status.PUBLISHED).update(status=Status.PROCESSING):
        owner.status = Status.PROCESSING
    job_send_on_commit(job.pk)
    return job


def media_reprocess(*, owner: Episode | Video) -> ProcessingJob:
    """Make the renditions again from the newest source (idempotent: the new set replaces the old)."""
    source = owner.sources.order_by("-created_at", "-id").first()
    if source is None:
        raise InvalidInput("There is no uploaded file to process; upload one first.")
    active = ProcessingJob.objects.filter(
        source__in=owner.sources.all(), state__in=[ProcessingJob.State.QUEUED, ProcessingJob.State.RUNNING]
    ).first()
    if active is not None:
        return active
    with transaction.atomic():
        return media_enqueue_processing(source=source)
