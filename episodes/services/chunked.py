"""A long video's job spread over the fleet: one task per chunk, one for the programme's sound, then the join.

Usage (the processing service and the tasks call these; nothing else needs to)::

    if chunking_wanted(info): raise HandedOff()            # in the job's pipeline, once the upload is probed
    job_chunked_start(claim=claim, info=info)              # parts rows for this attempt, their tasks sent
    part_run(part_id=7, worker_id="host:123")              # a worker's chunk / sound / join task
    parts_sweep()                                          # redo a part whose worker died; keep the job alive

The job stays RUNNING for the whole time, leased by ``chunked:<attempt>`` instead of a worker: a part's heartbeat
and the sweeper renew that lease while parts remain, so the job sweeper does not start the job again, and a
duplicate ``process_media`` message finds the job taken. Each part has its own lease (a worker that dies costs
that part only: the sweeper queues it again, on any worker) and stores its files under
``work/<job>/<attempt>/<kind>-<index>-<try>/`` (recorded on the part when it is done): the join reads only the
parts of its own attempt, each from the try that finished. Nothing is visible to anyone until the join swaps
renditions in, first a preview (the lowest rung, when the video has nothing yet), then the whole ladder.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from datetime import timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from episodes.media.chunks import ChunkSpan, chunk_spans, encode_chunk
from episodes.media.config import MediaConfig
from episodes.media.join import encode_programme_audio
from episodes.media.plan import Plan, plan
from episodes.media.probe import ProbeResult
from episodes.media.probe import probe as media_probe
from episodes.models import ChunkPart, MediaSource, ProcessingJob, Rendition, Status
from episodes.storage import storage_delete_prefix, storage_fetch_to, storage_put_file

from .chunk_leases import PartBeat, PartClaim, part_claim, part_finish_checked
from .leases import Claim, LeaseLost
from .processing_faults import failure_for

log = logging.getLogger(__name__)
Kind, PartState = ChunkPart.Kind, ChunkPart.State
State, Stage = ProcessingJob.State, ProcessingJob.Stage
MARKER = "chunked:{attempt}"


class HandedOff(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The job's pipeline stops here: its parts run as their own tasks (raised once the upload is probed)."""

    def __init__(self, info: ProbeResult) -> None:
        super().__init__("handed off to chunk tasks")
        self.info = info


def chunking_wanted(info: ProbeResult) -> bool:
    """A video longer than MEDIA_CHUNK_AFTER_SECONDS (0: never) is encoded in chunks."""
    after = float(getattr(settings, "MEDIA_CHUNK_AFTER_SECONDS", 0) or 0)
    return bool(after) and info.kind == "video" and info.duration > after


def _config() -> MediaConfig:
    from .processing import media_config

    return media_config()


def work_prefix(job_id: int, attempt: int | None = None) -> str:
    return f"work/{job_id}" + (f"/{attempt}" if attempt is not None else "")


def job_chunked_start(*, claim: Claim, info: ProbeResult) -> int:
    """Create this attempt's parts and hand the job's lease to them; returns how many chunks."""
    from episodes.tasks import process_part

    p = plan(info, _config())
    spans = chunk_spans(p, float(settings.MEDIA_CHUNK_SECONDS))
    marker = MARKER.format(attempt=claim.attempt)
    with transaction.atomic():
        job = ProcessingJob.objects.select_for_update().get(pk=claim.job_id)
        if job.lease_owner != claim.worker_id or job.attempts != claim.attempt or job.state != State.RUNNING:
            raise LeaseLost(f"job {job.pk} was taken over before its chunks were queued")
        ChunkPart.objects.filter(job=job, attempt=claim.attempt).delete()
        rows = [ChunkPart(job=job, attempt=claim.attempt, kind=Kind.CHUNK, index=s.index, start=s.start, end=s.end)
                for s in spans]  # fmt: skip
        if p.has_audio:
            rows.append(ChunkPart(job=job, attempt=claim.attempt, kind=Kind.SOUND, end=p.duration))
        created = ChunkPart.objects.bulk_create(rows)
        job.lease_owner, job.stage, job.progress = marker, Stage.ENCODING, 5
        job.lease_expires_at = timezone.now() + timedelta(seconds=settings.MEDIA_JOB_LEASE_SECONDS)
        job.save()
        for part in created:
            transaction.on_commit(partial(process_part.delay, part.pk))
    # Files of older attempts can never be read again.
    for older in range(1, claim.attempt):
        _quiet_delete(work_prefix(claim.job_id, older))
    log.info("job split into chunks", extra={"job_id": claim.job_id, "chunks": len(spans), "attempt": claim.attempt})
    return len(spans)


def part_run(*, part_id: int, worker_id: str) -> bool:
    """Claim and run one part; False when there was nothing to do (done, taken, or of an older attempt)."""
    claim = part_claim(part_id=part_id, worker_id=worker_id)
    if claim is None:
        return False
    part = ChunkPart.objects.select_related("job__source__video").get(pk=part_id)
    workdir = Path(tempfile.mkdtemp(prefix=f"part-{part.pk}-", dir=_work_root()))
    prefix = f"{work_prefix(part.job_id, part.attempt)}/{part.kind}-{part.index}-{claim.tries}"
    context = {"job_id": part.job_id, "part_id": part.pk, "kind": part.kind, "index": part.index,
               "attempt": part.attempt, "try": claim.tries, "worker_id": worker_id}  # fmt: skip
    log.info("part started", extra=context)
    try:
        with PartBeat(claim) as beat:
            if part.kind == Kind.JOIN:
                from .chunked_join import join_run

                join_run(part=part, claim=claim, workdir=workdir, beat=beat)
                log.info("part finished", extra=context)
                return True
            files = _run_piece(part, workdir, beat)
            if beat.lost.is_set():
                raise LeaseLost(f"part {part.pk} lost its lease")
            for relative in files:
                storage_put_file(f"{prefix}/{relative}", workdir / "out" / relative)
        _part_done(claim, prefix, files)
        log.info("part finished", extra=context)
    except LeaseLost:
        log.warning("part lease lost", extra=context)
        _quiet_delete(prefix)
    except Exception as exc:  # noqa: BLE001 - classified: a data error fails the job, an outage is retried
        _quiet_delete(prefix)
        part_failed(claim, exc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return True


def _work_root() -> Path:
    from .processing import work_root

    return work_root()


def fetch_source(source: MediaSource, workdir: Path) -> Path:
    local = workdir / "source"
    local.mkdir(exist_ok=True)
    path = local / "input.bin"
    if not path.exists():
        storage_fetch_to(source.storage_key, path)
    return path


def local_plan(source: MediaSource, workdir: Path) -> tuple[Path, ProbeResult, Plan]:
    """Fetch the upload and plan it here (the plan depends only on the upload and the settings)."""
    path = fetch_source(source, workdir)
    config = _config()
    info = media_probe(path, config)
    return path, info, plan(info, config)


def _run_piece(part: ChunkPart, workdir: Path, beat: PartBeat) -> list[str]:
    _path, _info, p = local_plan(part.job.source, workdir)
    out = workdir / "out"
    config = _config()

    def progress(pct: float) -> None:
        beat.progress = int(pct)

    if part.kind == Kind.SOUND:
        encode_programme_audio(p, out, config, lambda _stage, pct: progress(pct))
    else:
        span = ChunkSpan(index=part.index, start=part.start, end=part.end, last=part.end >= p.duration)
        encode_chunk(p, span, out, config, progress)
    return sorted(str(f.relative_to(out)) for f in out.rglob("*") if f.is_file())


def _part_done(claim: PartClaim, prefix: str, files: list[str]) -> None:
    """Record the part's files; when it was the last chunk or sound part, queue the join."""
    from episodes.tasks import process_part

    with transaction.atomic():
        part = part_finish_checked(claim)
        part.state, part.stored_prefix, part.files, part.progress = PartState.DONE, prefix, files, 100
        part.finished_at, part.lease_expires_at = timezone.now(), None
        part.save()
        job = ProcessingJob.objects.select_for_update().get(pk=part.job_id)
        pieces = ChunkPart.objects.filter(job=job, attempt=part.attempt).exclude(kind=Kind.JOIN)
        chunks = pieces.filter(kind=Kind.CHUNK)
        done, total = chunks.filter(state=PartState.DONE).count(), chunks.count()
        job.progress = 5 + int(85 * done / max(1, total))
        job.save(update_fields=["progress"])
        if pieces.exclude(state=PartState.DONE).exists():
            return
        join, created = ChunkPart.objects.get_or_create(job=job, attempt=part.attempt, kind=Kind.JOIN, index=0)
        if created:
            transaction.on_commit(partial(process_part.delay, join.pk))


def part_failed(claim: PartClaim, exc: BaseException) -> None:
    """A data error (ffmpeg refused the file) fails the job; an outage queues the part again, up to its tries."""
    from episodes.tasks import process_part

    from .processing import _finish_failed

    job = ProcessingJob.objects.select_related("source").get(pk=claim.job_id)
    failure = failure_for(exc, max_attempts=job.max_attempts, attempt=claim.tries)
    log.warning("part failed", extra={"job_id": claim.job_id, "part_id": claim.part_id, "error": failure.reason,
                                      "retry": failure.retry})  # fmt: skip
    if failure.retry and claim.tries < job.max_attempts:
        with transaction.atomic():
            if ChunkPart.objects.filter(pk=claim.part_id, lease_owner=claim.worker_id, tries=claim.tries,
                                        state=PartState.RUNNING).update(
                state=PartState.QUEUED, lease_owner="", lease_expires_at=None, queued_at=timezone.now()):  # fmt: skip
                transaction.on_commit(partial(process_part.apply_async, (claim.part_id,), countdown=5 * claim.tries))
        return
    job_claim = Claim(job_id=claim.job_id, worker_id=MARKER.format(attempt=claim.attempt), attempt=claim.attempt)
    _finish_failed(job_claim, job.source, failure.reason, failure.detail, retry=False, kind=failure.kind)
    job.refresh_from_db()
    if job.state == State.FAILED:
        _quiet_delete(work_prefix(claim.job_id, claim.attempt))  # the other parts' files are of no use now


def _quiet_delete(prefix: str) -> None:
    try:
        storage_delete_prefix(prefix)
    except Exception:  # noqa: BLE001 - an unreferenced prefix is harmless
        log.warning("could not delete stored files", extra={"prefix": prefix}, exc_info=True)


def parts_sweep() -> list[int]:
    """Queue again the parts whose worker stopped heart-beating (or whose message was lost); renew the lease of
    every chunked job with parts still to do, so the job sweeper leaves it to them."""
    from episodes.tasks import process_part

    now = timezone.now()
    resend_before = now - timedelta(seconds=settings.MEDIA_JOB_RESEND_SECONDS)
    requeued: list[int] = []
    for job in ProcessingJob.objects.filter(state=State.RUNNING, lease_owner__startswith="chunked:"):
        attempt = job.attempts
        if job.lease_owner != MARKER.format(attempt=attempt):
            continue
        parts = ChunkPart.objects.filter(job=job, attempt=attempt)
        stale = parts.filter(state=PartState.RUNNING, lease_expires_at__lt=now)
        lost = parts.filter(state=PartState.QUEUED, queued_at__lt=resend_before)
        for part_id in list(stale.values_list("pk", flat=True)) + list(lost.values_list("pk", flat=True)):
            with transaction.atomic():
                part = ChunkPart.objects.select_for_update().get(pk=part_id)
                if part.state == PartState.RUNNING and part.lease_expires_at and part.lease_expires_at >= now:
                    continue
                part.state, part.lease_owner, part.lease_expires_at = PartState.QUEUED, "", None
                part.queued_at = now
                part.save()
                transaction.on_commit(partial(process_part.delay, part.pk))
            requeued.append(part_id)
        if parts.exclude(state=PartState.DONE).exists():
            ProcessingJob.objects.filter(pk=job.pk, lease_owner=job.lease_owner, attempts=attempt).update(
                lease_expires_at=now + timedelta(seconds=settings.MEDIA_JOB_LEASE_SECONDS)
            )
    return requeued


def owner_has_renditions(source: MediaSource) -> bool:
    owner = source.episode or source.video
    field = "episode" if source.episode_id else "video"
    return Rendition.objects.filter(**{field: owner}).exists()


def mark_ready(source: MediaSource) -> None:
    owner = source.video or source.episode
    assert owner is not None  # noqa: S101
    type(owner).objects.filter(pk=owner.pk).exclude(status=Status.PUBLISHED).update(status=Status.READY)


def new_run_prefix(source: MediaSource, job_id: int, attempt: int, suffix: str = "") -> str:
    from .processing import _owner
    from .uploads import owner_prefix

    return f"renditions/{owner_prefix(_owner(source))}/{job_id}-{attempt}-{uuid.uuid4().hex[:6]}{suffix}"
