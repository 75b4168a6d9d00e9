"""Deleting shows, episodes and videos together with their files in storage.

Rows go in one transaction; files (sources, renditions, transcripts, unfinished upload parts) are removed once
it commits, so a rolled-back delete never loses media.
"""

from __future__ import annotations

import logging
import shutil

from django.core.files.storage import default_storage
from django.db import transaction

from episodes.models import Episode, MediaSource, Rendition, Show, Status, Transcript, UploadSession, Video

from .errors import Conflict
from .resumable import parts_dir
from .s3_multipart import multipart_abort
from .uploads import owner_prefix

log = logging.getLogger(__name__)


def _storage_cleanup(keys: set[str], prefixes: set[str]) -> None:
    from episodes.storage import storage_delete_prefix

    for key in sorted(keys):
        try:
            default_storage.delete(key)
        except OSError:
            log.exception("could not delete %s", key)
    for prefix in sorted(prefixes):
        try:
            storage_delete_prefix(prefix)
        except OSError:
            log.exception("could not delete %s", prefix)


def _owner_files(owner: Episode | Video) -> tuple[set[str], set[str]]:
    field = "episode" if isinstance(owner, Episode) else "video"
    keys: set[str] = set()
    keys.update(MediaSource.objects.filter(**{field: owner}).values_list("storage_key", flat=True))
    keys.update(Transcript.objects.filter(**{field: owner}).values_list("storage_key", flat=True))
    prefixes: set[str] = set()
    for key in Rendition.objects.filter(**{field: owner}).values_list("storage_key", flat=True):
        keys.add(key)
        # HLS keeps its playlists and segments beside the master: remove the rendition's whole folder.
        prefixes.add(key.rsplit("/", 1)[0])
    base = owner_prefix(owner)
    prefixes |= {f"sources/{base}", f"renditions/{base}", f"transcripts/{base}"}
    return keys, prefixes


def _discard_uploads(owner: Episode | Video) -> None:
    field = "episode" if isinstance(owner, Episode) else "video"
    for session in UploadSession.objects.filter(**{field: owner}).exclude(state=UploadSession.State.COMPLETED):
        shutil.rmtree(parts_dir(session), ignore_errors=True)
        if session.backend == UploadSession.Backend.S3 and session.state == UploadSession.State.OPEN:
            try:
                multipart_abort(key=session.storage_key, upload_id=session.s3_upload_id)
            except Exception:  # noqa: BLE001 - an orphaned multipart upload is only cost; S3 lifecycle rules expire it
                log.warning("could not abort S3 upload %s", session.pk, exc_info=True)


def _delete_owner(owner: Episode | Video) -> None:
    if owner.status == Status.PUBLISHED:
        raise Conflict("Unpublish it before deleting it.", code="published")
    keys, prefixes = _owner_files(owner)
    _discard_uploads(owner)
    owner.delete()
    transaction.on_commit(lambda: _storage_cleanup(keys, prefixes))


def episode_delete(*, episode: Episode) -> None:
    """Delete an unpublished episode, its sources, renditions, transcripts and unfinished uploads."""
    with transaction.atomic():
        _delete_owner(Episode.objects.select_for_update().get(pk=episode.pk))


def video_delete(*, video: Video) -> None:
    """Delete an unpublished video, its sources, renditions, transcripts and unfinished uploads."""
    with transaction.atomic():
        _delete_owner(Video.objects.select_for_update().get(pk=video.pk))


def show_delete(*, show: Show) -> None:
    """Delete a show that has no episodes or videos left (its feed would otherwise vanish from under listeners)."""
    with transaction.atomic():
        if Episode.objects.filter(show=show).exists() or Video.objects.filter(show=show).exists():
            raise Conflict("Delete or move the show's episodes and videos first.", code="not_empty")
        show.delete()
