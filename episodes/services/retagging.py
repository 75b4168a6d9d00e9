"""Keep the tags inside the audio files equal to the metadata: rewrite them after edits, without re-encoding.

    tags_schedule(owner=episode)          # after an edit: queue a rewrite if the files carry other metadata
    tags_rewrite_run(rewrite_id=7, worker_id="host:1")   # the job (episodes.rewrite_tags): rewrite and swap in
    tags_sweep()                          # beat: send again what was not sent or whose worker died

The TagRewrite row is the outbox: it is written with the edit, the message is sent after the commit and may
fail; the sweeper sends rows whose message was lost. An edit moves the row's ``due_at`` TAG_REWRITE_DELAY_SECONDS
ahead, and a job that arrives before its row is due does nothing, so a burst of edits is rewritten once.

A rewritten file is a new file: it is stored under a new key and its rendition row gets the new size and sha256,
so its delivery URL (episodes.links, versioned by the sha256) changes too; the old URL redirects to the new one.
The swap is one transaction over the rendition rows (the feed's fingerprint and item keys follow those rows, so
the feed and its cached items change with it); the old files are deleted after the commit.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from episodes.media.retag import RETAGGED_KINDS, retag
from episodes.models import Episode, Rendition, Show, TagRewrite, Video
from episodes.storage import sha256_of, storage, storage_delete_prefix, storage_fetch_to, storage_put_file

from .media_meta import tag_meta, tag_source
from .processing_faults import db_retry, failure_for, retry_countdown
from .uploads import owner_prefix

log = logging.getLogger(__name__)
TAGS_FOLDER = "tags-"  # run folders made by rewrites: renditions/<episodes|videos>/<id>/tags-<row>-<hex>/


def _field(owner: Episode | Video) -> str:
    return "episode" if isinstance(owner, Episode) else "video"


def _queue(owners: list[Episode | Video]) -> int:
    """Upsert the owners' rows, due after the debounce delay, and send their messages after the commit."""
    delay = settings.TAG_REWRITE_DELAY_SECONDS
    due = timezone.now() + timedelta(seconds=delay)
    ids = []
    with transaction.atomic():
        for owner in owners:
            lookup: dict[str, Any] = {_field(owner): owner}
            row, _ = TagRewrite.objects.update_or_create(defaults={"due_at": due, "attempts": 0, "error": ""}, **lookup)
            ids.append(row.pk)
        for row_id in ids:
            transaction.on_commit(partial(_send, row_id, countdown=delay))
    return len(ids)


def tags_schedule(*, owner: Episode | Video) -> bool:
    """Queue a rewrite when the owner's audio files carry other metadata than the owner has now."""
    digest = tag_source(owner).digest
    stale = Rendition.objects.filter(**{_field(owner): owner}, kind__in=RETAGGED_KINDS).exclude(tags_digest=digest)
    return bool(stale.exists() and _queue([owner]))


def tags_schedule_show(*, show: Show) -> int:
    """``tags_schedule`` for every episode and video of the show (its title, author or cover are in their tags)."""
    written: dict[tuple[str, int], set[str]] = {}
    audio = Rendition.objects.filter(Q(episode__show=show) | Q(video__show=show), kind__in=RETAGGED_KINDS)
    for episode_id, video_id, digest in audio.values_list("episode_id", "video_id", "tags_digest"):
        key = ("episode", episode_id) if episode_id is not None else ("video", video_id)
        written.setdefault(key, set()).add(digest)
    owners: list[Episode | Video] = []
    for model in (Episode, Video):
        name = "episode" if model is Episode else "video"
        ids = [pk for kind, pk in written if kind == name]
        for owner in model.objects.filter(pk__in=ids).select_related("show"):
            if written[(name, owner.pk)] != {tag_source(owner).digest}:
                owners.append(owner)
    return _queue(owners) if owners else 0


def _send(row_id: int, *, countdown: float = 0) -> None:
    """Best effort: a failed send is logged; the sweeper sends the row again."""
    from episodes.tasks import rewrite_tags

    try:
        rewrite_tags.apply_async((row_id,), countdown=countdown, retry=False)
        TagRewrite.objects.filter(pk=row_id).update(sent_at=timezone.now())
    except Exception:  # noqa: BLE001 - the row is the outbox: nothing is lost when the broker is down
        log.warning("tag rewrite not sent; the sweeper will", extra={"tag_rewrite_id": row_id}, exc_info=True)


def _claim(row_id: int, worker_id: str, now: datetime) -> TagRewrite | None:
    with transaction.atomic():
        row = TagRewrite.objects.select_for_update().filter(pk=row_id).first()
        if row is None or row.due_at > now or row.attempts >= settings.MEDIA_JOB_MAX_ATTEMPTS:
            return None  # done, not due yet (a later edit sends its own message), or failed for good
        if row.lease_expires_at is not None and row.lease_expires_at > now:
            return None
        row.attempts += 1
        row.lease_owner, row.lease_expires_at = worker_id, now + timedelta(seconds=settings.MEDIA_JOB_LEASE_SECONDS)
        row.save(update_fields=["attempts", "lease_owner", "lease_expires_at"])
        return row


def tags_rewrite_run(*, rewrite_id: int, worker_id: str) -> bool:
    """Rewrite the tags of one owner's stale audio files and swap them in; True when files were swapped."""
    row = db_retry(lambda: _claim(rewrite_id, worker_id, timezone.now()), what="claim tags", job_id=rewrite_id)
    if row is None:
        return False
    owner: Episode | Video | None
    if row.episode_id is not None:
        owner = Episode.objects.select_related("show").filter(pk=row.episode_id).first()
    else:
        owner = Video.objects.select_related("show").filter(pk=row.video_id or 0).first()
    if owner is None:
        return False  # deleted meanwhile (its row went with it)
    source = tag_source(owner)
    stale = list(
        Rendition.objects.filter(**{_field(owner): owner}, kind__in=RETAGGED_KINDS).exclude(tags_digest=source.digest)
    )
    prefix = f"renditions/{owner_prefix(owner)}/{TAGS_FOLDER}{row.pk}-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix=f"tags-{row.pk}-", dir=_work_root()))
    written = False
    try:
        meta = tag_meta(source, workdir)
        new: list[tuple[Rendition, str, int, str]] = []
        for rendition in stale:
            name = PurePosixPath(rendition.storage_key).name
            old_copy, new_copy = workdir / f"old-{name}", workdir / name
            storage_fetch_to(rendition.storage_key, old_copy)
            retag(rendition.kind, old_copy, new_copy, meta, duration=rendition.duration or 0.0,
                  exe=_ffmpeg())  # fmt: skip
            old_copy.unlink()
            written = True
            storage_put_file(f"{prefix}/{name}", new_copy)
            new.append((rendition, f"{prefix}/{name}", new_copy.stat().st_size, sha256_of(new_copy)))
        swapped = db_retry(lambda: _swap(row, worker_id, new, source.digest), what="swap tags", job_id=row.pk)
    except Exception as exc:  # noqa: BLE001 - recorded on the row and retried with backoff
        _forget(prefix, written)
        db_retry(partial(_failed, row, worker_id, exc), what="record tag failure", job_id=row.pk)
        return False
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if swapped is None:
        _forget(prefix, written)
        return False
    for old_key in swapped:
        _delete_old(old_key)
    log.info("tags rewritten", extra={"tag_rewrite_id": row.pk, "files": len(new), f"{_field(owner)}_id": owner.pk})
    return bool(new)


def _swap(row: TagRewrite, worker_id: str, new: list[tuple[Rendition, str, int, str]], digest: str) -> list[str] | None:
    """Point the rendition rows at the new files in one transaction; the old keys, or None when the work is void
    (the row was taken over, or re-processing replaced the files meanwhile: its own check schedules a rewrite)."""
    with transaction.atomic():
        current = TagRewrite.objects.select_for_update().filter(pk=row.pk).first()
        if current is None or current.lease_owner != worker_id or current.attempts != row.attempts:
            return None
        locked = {r.pk: r for r in Rendition.objects.select_for_update().filter(pk__in=[n[0].pk for n in new])}
        if any(locked.get(r.pk) is None or locked[r.pk].storage_key != r.storage_key for r, *_ in new):
            current.delete()
            return None
        now = timezone.now()
        for rendition, key, size, sha in new:
            # created_at moves on: the feed's fingerprint (feeds.selectors.feed_state) sees the new files.
            Rendition.objects.filter(pk=rendition.pk).update(
                storage_key=key, byte_size=size, sha256=sha, tags_digest=digest, created_at=now
            )
        if current.due_at == row.due_at:
            current.delete()  # no edit came in meanwhile: done
        else:  # edited while we worked: the newer edit's message (or the sweeper) runs the row again
            current.lease_owner, current.lease_expires_at, current.attempts = "", None, 0
            current.save(update_fields=["lease_owner", "lease_expires_at", "attempts"])
    return [rendition.storage_key for rendition, *_ in new]


def _failed(row: TagRewrite, worker_id: str, exc: Exception) -> None:
    failure = failure_for(exc, max_attempts=settings.MEDIA_JOB_MAX_ATTEMPTS, attempt=row.attempts)
    log.warning("tag rewrite failed", extra={"tag_rewrite_id": row.pk, "error": failure.detail[-500:]})
    with transaction.atomic():
        current = TagRewrite.objects.select_for_update().filter(pk=row.pk, lease_owner=worker_id).first()
        if current is None:
            return
        current.error = f"{failure.reason} {failure.detail[-1000:]}".strip()
        current.lease_owner, current.lease_expires_at = "", None
        if failure.retry and current.attempts < settings.MEDIA_JOB_MAX_ATTEMPTS:
            countdown = retry_countdown(current.attempts)
            current.due_at = timezone.now() + timedelta(seconds=countdown)
            transaction.on_commit(partial(_send, current.pk, countdown=countdown))
        else:
            current.attempts = settings.MEDIA_JOB_MAX_ATTEMPTS  # kept with its error until the next edit
        current.save()


def tags_sweep(*, now: datetime | None = None) -> list[int]:
    """Send due rows whose message was lost (sent long ago, or never) or whose worker stopped (lease expired)."""
    now = now or timezone.now()
    resend_before = now - timedelta(seconds=settings.MEDIA_JOB_RESEND_SECONDS)
    due = TagRewrite.objects.filter(due_at__lte=now, attempts__lt=settings.MEDIA_JOB_MAX_ATTEMPTS)
    lost = due.filter(Q(lease_expires_at__isnull=True) & (Q(sent_at__isnull=True) | Q(sent_at__lt=resend_before)))
    dead = due.filter(lease_expires_at__lt=now)
    ids = sorted(set(lost.values_list("pk", flat=True)) | set(dead.values_list("pk", flat=True)))
    for row_id in ids:
        _send(row_id)
    return ids


def _delete_old(key: str) -> None:
    """Delete a replaced file; a rewrite's own folder goes when nothing refers to it any more."""
    try:
        storage().delete(key)
        folder = key.rsplit("/", 1)[0]
        if folder.rsplit("/", 1)[-1].startswith(TAGS_FOLDER):
            if not Rendition.objects.filter(storage_key__startswith=folder + "/").exists():
                storage_delete_prefix(folder)
    except Exception:  # noqa: BLE001 - an unreferenced file costs storage, nothing else
        log.warning("could not delete a replaced file", extra={"key": key}, exc_info=True)


def _forget(prefix: str, written: bool) -> None:
    if written:
        try:
            storage_delete_prefix(prefix)
        except Exception:  # noqa: BLE001 - storage may be what failed
            log.warning("could not clean up rewritten files", extra={"prefix": prefix}, exc_info=True)


def _work_root() -> Path:
    root = Path(settings.MEDIA_WORK_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _ffmpeg() -> str:
    from .processing import media_config

    return media_config().ffmpeg_exe()
