"""The join part of a chunked job: fetch the parts' files, publish a preview, then swap the whole ladder in.

The preview (the lowest rung with its poster, sound and storyboard) is swapped in as soon as the chunks are
joined for it, but only while the video has no renditions at all: a re-processed video keeps its full ladder
until the new one replaces it. The whole set then replaces the preview in one transaction (processing's swap).
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from episodes.media.join import join_chunks
from episodes.models import ChunkPart, MediaSource, ProcessingJob, Rendition
from episodes.storage import storage_fetch_to

from .chunk_leases import PartBeat, PartClaim, part_finish_checked
from .chunked import MARKER, _config, _quiet_delete, fetch_source, local_plan, mark_ready, new_run_prefix, work_prefix
from .leases import Claim, LeaseLost
from .media_meta import TagSource, tag_meta, tag_source
from .processing import _retag_if_edited

log = logging.getLogger(__name__)
Kind, PartState = ChunkPart.Kind, ChunkPart.State


def _fetch_parts(part: ChunkPart, workdir: Path) -> tuple[list[Path], Path | None]:
    """Each finished chunk's files into workdir/c000…, the sound's into workdir/sound."""
    pieces = ChunkPart.objects.filter(job_id=part.job_id, attempt=part.attempt).exclude(kind=Kind.JOIN)
    chunk_dirs: list[Path] = []
    sound: Path | None = None
    for piece in pieces.order_by("kind", "index"):
        if piece.state != PartState.DONE:
            raise LeaseLost(f"part {piece.pk} is not done; the join waits for it")
        folder = workdir / (f"c{piece.index:03d}" if piece.kind == Kind.CHUNK else "sound")
        for relative in piece.files:
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            storage_fetch_to(f"{piece.stored_prefix}/{relative}", target)
        if piece.kind == Kind.CHUNK:
            chunk_dirs.append(folder)
        else:
            sound = folder
    return sorted(chunk_dirs), sound


def join_run(*, part: ChunkPart, claim: PartClaim, workdir: Path, beat: PartBeat) -> None:
    """Join, store and swap in (preview first when it helps); clean the attempt's work files."""
    from .processing import _store_outputs, _swap_in

    source = part.job.source
    job_claim = Claim(job_id=part.job_id, worker_id=MARKER.format(attempt=part.attempt), attempt=part.attempt)
    ProcessingJob.objects.filter(pk=part.job_id, lease_owner=job_claim.worker_id).update(stage="packaging")
    chunk_dirs, sound = _fetch_parts(part, workdir)
    _path, info, p = local_plan(source, workdir)
    tags = _tag_source(source)
    meta = tag_meta(tags, workdir)
    config = _config()
    lowest = p.rungs[-1].name
    written: list[str] = []
    try:
        if len(p.rungs) > 1 and not _has_renditions(source):
            preview = join_chunks(p, info, chunk_dirs, sound, workdir / "preview" / "out", meta, config,
                                  rungs=(lowest,))  # fmt: skip
            prefix = new_run_prefix(source, part.job_id, part.attempt, "-preview")
            written.append(prefix)
            rows = _store_outputs(preview, workdir / "preview", prefix, tags.digest)
            _preview_swap(claim, job_claim, source, rows)
        result = join_chunks(p, info, chunk_dirs, sound, workdir / "full" / "out", meta, config,
                             fetch_source=lambda: fetch_source(source, workdir))  # fmt: skip
        if beat.lost.is_set():
            raise LeaseLost(f"join part {part.pk} lost its lease")
        prefix = new_run_prefix(source, part.job_id, part.attempt)
        written.append(prefix)
        rows = _store_outputs(result, workdir / "full", prefix, tags.digest)
        with transaction.atomic():
            done = part_finish_checked(claim)
            done.state, done.progress, done.lease_expires_at = PartState.DONE, 100, None
            done.finished_at = timezone.now()
            done.save()
            _swap_in(job_claim, source, rows, result)
    except BaseException:
        for prefix in written[-1:] if _preview_live(written) else written:
            _quiet_delete(prefix)
        raise
    _quiet_delete(work_prefix(part.job_id))
    _retag_if_edited(source)  # metadata edited while the chunks ran is not in the files: queue a tag rewrite


def _preview_live(written: list[str]) -> bool:
    """The preview prefix is in use when its renditions were swapped in (they stay until the full set)."""
    return (
        bool(written)
        and written[0].endswith("-preview")
        and Rendition.objects.filter(storage_key__startswith=written[0] + "/").exists()
    )


def _has_renditions(source: MediaSource) -> bool:
    from .chunked import owner_has_renditions

    return owner_has_renditions(source)


def _preview_swap(claim: PartClaim, job_claim: Claim, source: MediaSource, rows: list[Rendition]) -> None:
    """Swap the preview in while the attempt is still ours and the video still has nothing."""
    from .processing import _owner, _owner_field

    owner = _owner(source)
    with transaction.atomic():
        part_finish_checked(claim)
        job = ProcessingJob.objects.select_for_update().get(pk=job_claim.job_id)
        if job.lease_owner != job_claim.worker_id or job.attempts != job_claim.attempt:
            raise LeaseLost(f"job {job.pk} was taken over before the preview")
        field = _owner_field(owner)
        if Rendition.objects.filter(**{field: owner}).exists():
            return
        for row in rows:
            row.pk = None
            setattr(row, field, owner)
            row.source = source
        Rendition.objects.bulk_create(rows)
        job.progress = max(job.progress, 92)
        job.save(update_fields=["progress"])
        mark_ready(source)
    log.info("preview published", extra={"job_id": job_claim.job_id, "renditions": len(rows)})


def _tag_source(source: MediaSource) -> TagSource:
    """What the files' tags carry (their digest marks the renditions, so a later edit knows to rewrite them)."""
    from .processing import _owner

    return tag_source(_owner(source))
