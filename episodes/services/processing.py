"""Running processing jobs: lease + heartbeat, the media pipeline, the swap of renditions, the sweeper.

A job is leased by one worker (``lease_owner``) until ``lease_expires_at``; a heartbeat thread extends the
lease while ffmpeg runs. Outputs are stored under a key prefix unique to the run, then swapped in with one
transaction; the old set is deleted afterwards. A killed run leaves only an unreferenced prefix, which the next
run of the same job removes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import shutil
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from episodes.media.config import MediaConfig
from episodes.media.errors import MediaRejected
from episodes.media.pipeline import ProcessResult, process_audio, process_video
from episodes.media.probe import ProbeResult
from episodes.media.probe import probe as media_probe
from episodes.media.retag import RETAGGED_KINDS
from episodes.models import Episode, MediaSource, ProcessingJob, Rendition, Status, Video
from episodes.storage import storage_delete_prefix, storage_fetch_to, storage_put_file

from .chunked import HandedOff, chunking_wanted, job_chunked_start, parts_sweep
from .leases import Claim, Heartbeat, LeaseLost, job_claim, job_fail
from .leases import job_heartbeat as job_heartbeat  # re-exported: callers know the lease API by this module
from .outbox import job_send_on_commit, jobs_resend_lost, jobs_send_unsent
from .processing_faults import SourceMissing, db_retry, failure_for, is_missing, outage_wait, retry_countdown
from .publishing import publish_if_requested, publish_request_failed
from .uploads import owner_prefix

log = logging.getLogger(__name__)
State = ProcessingJob.State
Stage = ProcessingJob.Stage


def media_config() -> MediaConfig:
    return MediaConfig.from_settings(settings)


def work_root() -> Path:
    root = Path(settings.MEDIA_WORK_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def job_run(*, job_id: int, worker_id: str | None = None) -> ProcessingJob | None:
    """Claim and run a job end to end. Returns the job, or None when there was nothing to do."""
    worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
    claim = db_retry(lambda: job_claim(job_id=job_id, worker_id=worker_id), what="claim", job_id=job_id)
    if claim is None:
        return None
    job = db_retry(
        lambda: ProcessingJob.objects.select_related("source__episode__show", "source__video__show").get(pk=job_id),
        what="load", job_id=job_id,
    )  # fmt: skip
    source = job.source
    context = log_context(claim, source)
    log.info("job started", extra=context)
    started = time.monotonic()
    run_prefix = f"renditions/{owner_prefix(_owner(source))}/{job.pk}-{claim.attempt}-{uuid.uuid4().hex[:6]}"
    _remove_stale_workdirs(job.pk)
    workdir = Path(tempfile.mkdtemp(prefix=f"job-{job.pk}-", dir=work_root()))
    stored_prefix_written = False
    beat = Heartbeat(claim)  # beat.stage is the stage a failure happened in, recorded with it
    try:
        with beat:
            result, tags_digest = _process(job, source, workdir, beat)
            if beat.lost.is_set():
                raise LeaseLost(f"job {job.pk} lost its lease while processing")
            beat.stage, beat.progress = Stage.STORING, 95
            stored_prefix_written = True
            rows = _store_outputs(result, workdir, run_prefix, tags_digest)
            if beat.lost.is_set():
                raise LeaseLost(f"job {job.pk} lost its lease while storing")
        # The renditions are stored; a database blip here is retried in place rather than redoing the work.
        db_retry(lambda: _swap_in(claim, source, rows, result), what="swap", job_id=job.pk)
        _retag_if_edited(source)
        log.info("job succeeded", extra={**context, "renditions": len(rows),
                                         "seconds": round(time.monotonic() - started, 3)})  # fmt: skip
    except HandedOff as handoff:  # a long video: its chunks, sound and join run as tasks of their own
        probed = handoff.info
        try:
            db_retry(lambda: job_chunked_start(claim=claim, info=probed), what="split", job_id=job.pk)
        except LeaseLost:
            log.warning("job lease lost", extra=context)
            return None
    except LeaseLost:
        log.warning("job lease lost", extra=context)
        _cleanup_prefix(run_prefix, stored_prefix_written)
        return None
    except Exception as exc:  # noqa: BLE001 - every failure is classified, recorded and maybe retried
        failure = failure_for(exc, max_attempts=job.max_attempts, attempt=claim.attempt)
        _cleanup_prefix(run_prefix, stored_prefix_written)
        db_retry(lambda: _finish_failed(claim, source, failure.reason, failure.detail, retry=failure.retry,
                                        kind=failure.kind, stage=beat.stage),  # fmt: skip
                 what="record failure", job_id=job.pk)  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return db_retry(lambda: ProcessingJob.objects.get(pk=job_id), what="reload", job_id=job_id)


def log_context(claim: Claim, source: MediaSource) -> dict[str, object]:
    """The ids every log line of a job carries (JSON fields: job_id, source_id, episode_id/video_id, …)."""
    return {
        "job_id": claim.job_id,
        "source_id": source.pk,
        "episode_id": source.episode_id,
        "video_id": source.video_id,
        "attempt": claim.attempt,
        "worker_id": claim.worker_id,
    }


def _owner(source: MediaSource) -> Episode | Video:
    owner = source.episode or source.video
    assert owner is not None  # noqa: S101 - guaranteed by the source_has_one_owner constraint
    return owner


def _remove_stale_workdirs(job_id: int) -> None:
    for leftover in work_root().glob(f"job-{job_id}-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _cleanup_prefix(prefix: str, written: bool) -> None:
    """Remove a run's stored files; never raises (storage may be the thing that is down)."""
    if written:
        try:
            storage_delete_prefix(prefix)
        except Exception:  # noqa: BLE001 - an unreferenced prefix is harmless; the next run removes its own
            log.warning("could not clean up stored files", extra={"prefix": prefix}, exc_info=True)


# The pipeline's stage names → the job stages the admin shows.
PIPELINE_STAGES = {
    "probe": Stage.PROBING,
    "analyse": Stage.ANALYSING,
    "encode": Stage.ENCODING,
    "package": Stage.PACKAGING,
    "finalise": Stage.TAGGING,
}


def _retag_if_edited(source: MediaSource) -> None:
    """Metadata edited while the job ran is not in the files it made: queue a rewrite of their tags."""
    from .retagging import tags_schedule

    try:
        owner = _owner(source)
        tags_schedule(owner=type(owner).objects.select_related("show").get(pk=owner.pk))
    except Exception:  # noqa: BLE001 - the renditions are in; a missed rewrite is caught by the next edit
        log.warning("could not check the tags after processing", extra={"source_id": source.pk}, exc_info=True)


def _process(job: ProcessingJob, source: MediaSource, workdir: Path, beat: Heartbeat) -> tuple[ProcessResult, str]:
    """Run the pipeline; returns its result and the digest of the metadata written into the tags."""
    from .media_meta import tag_meta, tag_source

    local = workdir / "source"
    local.mkdir()
    # The local name never comes from the upload: ffmpeg sees a fixed, harmless file name.
    source_path = local / "input.bin"
    beat.stage = Stage.FETCHING
    try:
        storage_fetch_to(source.storage_key, source_path)
    except Exception as exc:
        if is_missing(exc):
            raise SourceMissing(f"{source.storage_key}: {exc!r}") from exc
        raise
    out = workdir / "out"
    out.mkdir()

    def on_progress(stage: str, percent: float) -> None:
        beat.stage = PIPELINE_STAGES.get(stage, beat.stage)
        beat.progress = min(94, int(percent))

    beat.stage = Stage.PROBING
    config = media_config()
    info = media_probe(source_path, config)
    MediaSource.objects.filter(pk=source.pk).update(
        kind=info.kind, probe=probe_summary(info), duration=info.duration or None
    )
    if info.kind == "rejected":
        raise MediaRejected(info.reason or "This file cannot be processed.")
    owner = _owner(source)
    tags = tag_source(owner)
    meta = tag_meta(tags, workdir)
    if isinstance(owner, Video):
        if info.kind != "video":
            raise MediaRejected("This is an audio file; an explainer video needs a video file.")
        if chunking_wanted(info):
            raise HandedOff(info)
        return process_video(source_path, out, meta, config, on_progress, probed=info), tags.digest
    # An episode takes the sound of whatever it is given (a video's picture is not part of a podcast).
    if info.kind == "video":
        if info.audio is None:
            raise MediaRejected("This video has no sound to make an episode from.")
        info = dataclasses.replace(info, kind="audio")
    return process_audio(source_path, out, meta, config, on_progress, probed=info), tags.digest


def probe_summary(info: ProbeResult) -> dict[str, object]:
    """The probe as JSON for the admin and API (no local paths)."""
    data = dataclasses.asdict(info)
    data.pop("path", None)
    return _finite(json.loads(json.dumps(data, default=str)))


def _finite(value: Any) -> Any:
    """JSON with every non-finite number (a header's inf frame rate, NaN) as null: JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _store_outputs(result: ProcessResult, workdir: Path, prefix: str, tags_digest: str) -> list[Rendition]:
    out = workdir / "out"
    rows: list[Rendition] = []
    for output in result.outputs:
        for relative in output.files or (output.path,):
            storage_put_file(f"{prefix}/{relative}", out / relative)
        rows.append(
            Rendition(
                kind=output.kind,
                variant=output.label or "",
                mime_type=output.mime,
                codecs=output.codec or "",
                bitrate=output.bitrate,
                width=output.width,
                height=output.height,
                duration=output.duration,
                byte_size=output.size_bytes,
                storage_key=f"{prefix}/{output.path}",
                sha256=output.sha256,
                tags_digest=tags_digest if output.kind in RETAGGED_KINDS else "",
            )
        )
    return rows


def _swap_in(claim: Claim, source: MediaSource, rows: list[Rendition], result: ProcessResult) -> None:
    owner = _owner(source)
    old_prefixes: set[str] = set()
    with transaction.atomic():
        job = ProcessingJob.objects.select_for_update().get(pk=claim.job_id)
        ours = job.lease_owner == claim.worker_id and job.attempts == claim.attempt
        if ours and job.state == State.SUCCEEDED:
            return  # a retry after our own commit went through but its acknowledgement was lost
        if not ours or job.state != State.RUNNING:
            raise LeaseLost(f"job {job.pk} was taken over before the swap")
        existing = Rendition.objects.filter(**{_owner_field(owner): owner})
        old_prefixes = {r.storage_key.rsplit("/", 1)[0] for r in existing}
        existing.delete()
        for row in rows:
            row.pk = None  # a repeat after a rolled-back attempt inserts afresh
            setattr(row, _owner_field(owner), owner)
            row.source = source
        Rendition.objects.bulk_create(rows)
        job.state, job.stage, job.progress = State.SUCCEEDED, Stage.DONE, 100
        job.finished_at = timezone.now()
        job.lease_expires_at = None
        job.loudness = loudness_summary(result)
        job.save()
        type(owner).objects.filter(pk=owner.pk).exclude(status=Status.PUBLISHED).update(status=Status.READY)
    new_prefixes = {r.storage_key.rsplit("/", 1)[0] for r in rows}
    for prefix in old_prefixes - new_prefixes:
        _cleanup_prefix(_run_root(prefix), True)
    publish_if_requested(item=owner)  # "Publish when ready": after the renditions are committed


def loudness_summary(result: ProcessResult) -> dict[str, object]:
    if result.loudness is None:
        return {}
    gain = result.gain_db
    return {**result.loudness.as_json(), "gain_db": gain if gain is not None and math.isfinite(gain) else None}


def _run_root(prefix: str) -> str:
    # renditions/<episodes|videos>/<id>/<run>[/sub/dirs]: the run folder is the 4th part.
    return "/".join(prefix.split("/")[:4])


def _owner_field(owner: Episode | Video) -> str:
    return "episode" if isinstance(owner, Episode) else "video"


def _finish_failed(
    claim: Claim,
    source: MediaSource,
    reason: str,
    detail: str,
    *,
    retry: bool,
    kind: str = "media",
    stage: str | None = None,
) -> None:
    owner = _owner(source)
    context = {**log_context(claim, source), "error_kind": kind, "error": reason, "detail": detail[-500:],
               "stage": stage}  # fmt: skip
    with transaction.atomic():
        job = ProcessingJob.objects.select_for_update().get(pk=claim.job_id)
        if job.lease_owner != claim.worker_id or job.attempts != claim.attempt:
            return
        job.error, job.error_detail = reason, detail[-4000:]
        job.lease_expires_at = None
        wait = outage_wait(job, kind) if retry else None
        if wait is not None:
            # Storage or the database was down: wait for it without spending an attempt (bounded, back-off).
            stage, countdown, job.error = wait
            job.outage_retries += 1
            job.max_attempts += 1  # this attempt was the outage's, not the file's
            _requeue(job, stage, countdown)
            log.warning("job waiting for an outage to end", extra={**context, "retry_in_s": countdown,
                                                                  "outage_retries": job.outage_retries})  # fmt: skip
            return
        if retry and job.attempts < job.max_attempts:
            countdown = retry_countdown(job.attempts)
            _requeue(job, Stage.WAITING, countdown)
            log.warning("job failed; retrying", extra={**context, "retry_in_s": countdown})
            return
        log.error("job failed", extra=context)
        if stage:  # the stage it failed in stays on the job (the heartbeat may not have written it yet)
            job.stage = stage
        job_fail(job, reason)
        has_media = Rendition.objects.filter(**{_owner_field(owner): owner}).exists()
        if not has_media:
            type(owner).objects.filter(pk=owner.pk).update(status=Status.FAILED)
        publish_request_failed(item=owner, reason=reason)


def _requeue(job: ProcessingJob, stage: str, countdown: int) -> None:
    """Queue a (locked) job again after ``countdown`` seconds; its message goes out after the commit."""
    now = timezone.now()
    job.state, job.stage, job.queued_at = State.QUEUED, stage, now
    job.retry_at, job.sent_at = now + timedelta(seconds=countdown), None
    job.save()
    job_send_on_commit(job.pk, countdown=countdown)


def jobs_sweep(*, now: datetime | None = None) -> list[int]:
    """Re-queue running jobs whose worker stopped heart-beating; fail those out of attempts; send unsent jobs."""
    now = now or timezone.now()
    parts_sweep()  # chunked jobs first: their live parts renew the job's lease, their dead ones are redone
    requeued: list[int] = []
    stale = ProcessingJob.objects.filter(state=State.RUNNING, lease_expires_at__lt=now).values_list("pk", flat=True)
    for job_id in list(stale):
        with transaction.atomic():
            job = ProcessingJob.objects.select_for_update().select_related("source").get(pk=job_id)
            if job.state != State.RUNNING or not job.lease_expires_at or job.lease_expires_at >= now:
                continue
            if job.attempts >= job.max_attempts:
                reason = (
                    f"The worker processing this file stopped responding {job.attempts} times; "
                    "the file may be too demanding. Please try again or upload a smaller file."
                )
                job_fail(job, reason)
                owner = _owner(job.source)
                if not Rendition.objects.filter(**{_owner_field(owner): owner}).exists():
                    type(owner).objects.filter(pk=owner.pk).update(status=Status.FAILED)
                publish_request_failed(item=owner, reason=reason)
                continue
            job.state, job.stage, job.lease_expires_at = State.QUEUED, Stage.WAITING, None
            job.queued_at, job.retry_at, job.sent_at = now, None, None
            job.error = "The worker stopped; the job was queued again."
            job.save()
            requeued.append(job.pk)
            job_send_on_commit(job.pk)
    # The job rows are the outbox: a job whose message never reached the broker (it was down at the commit) is
    # sent now; one whose message was lost (a broker restart, a SIGKILL on a broker without redelivery) is sent
    # again. A duplicate message is harmless because job_claim lets only one worker run a job.
    requeued += jobs_send_unsent(now=now)
    requeued += jobs_resend_lost(now=now, older_than=timedelta(seconds=settings.MEDIA_JOB_RESEND_SECONDS))
    return requeued
