"""Chunked video jobs on the production stack: real Celery workers on Redis, PostgreSQL, SeaweedFS (S3).

The workers share no disk (each has its own work folder): chunks travel through S3. One test lets two workers
share a long video; the other SIGKILLs the worker holding a chunk (held by FfmpegGate) and checks that only
that chunk is done again, by the surviving worker, and the job finishes in its first attempt.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File

from episodes.models import ChunkPart, ProcessingJob, Rendition, Show, Status
from episodes.services.content import video_create
from episodes.services.uploads import media_source_create
from tests.conftest import SeaweedFS, child_env, make_clip
from tests.stack.procs import FfmpegGate, Workers, purge, redis_broker_url, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.s3, pytest.mark.django_db(transaction=True)]
State = ProcessingJob.State


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """13 s of 640×480 (rungs 480p and 360p) with a tone: chunks 0–6 and 6–13."""
    return make_clip(
        tmp_path_factory.mktemp("clips") / "long.mp4",
        "-f", "lavfi", "-i", "testsrc2=s=640x480:r=15:d=13",
        "-f", "lavfi", "-i", "sine=f=330:d=13:sample_rate=48000",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
    )  # fmt: skip


@pytest.fixture
def stack(settings: Any, s3_storage: SeaweedFS, tmp_path: Path) -> Iterator[tuple[Workers, dict[str, str]]]:
    broker = redis_broker_url()
    purge(broker)
    env = {**child_env(settings), **s3_storage.env(settings.S3_BUCKET), "CELERY_BROKER_URL": broker,
           "MEDIA_CHUNK_AFTER_SECONDS": "8", "MEDIA_CHUNK_SECONDS": "6", "MEDIA_JOB_LEASE_SECONDS": "4"}  # fmt: skip
    settings.MEDIA_CHUNK_AFTER_SECONDS, settings.MEDIA_CHUNK_SECONDS = 8, 6
    pool = Workers(env, tmp_path)
    yield pool, env
    pool.stop_all()


def start(pool: Workers, name: str, tmp_path: Path, extra: dict[str, str] | None = None) -> Any:
    work = tmp_path / f"work-{name}"  # no shared disk between workers
    work.mkdir(exist_ok=True)
    return pool.start(name, env={"MEDIA_WORK_DIR": str(work), **(extra or {})})


def upload(show: Show, path: Path, slug: str) -> ProcessingJob:
    video = video_create(show=show, title="Long explainer", slug=slug)
    with path.open("rb") as fh:
        source = media_source_create(owner=video, file=File(fh, name=path.name), filename=path.name)
    return source.jobs.get()


def finished(job: ProcessingJob) -> bool:
    job.refresh_from_db()
    return job.state in {State.SUCCEEDED, State.FAILED}


def test_two_workers_share_a_long_video_and_the_result_is_one_ladder(
    stack: tuple[Workers, dict[str, str]], show: Show, long_clip: Path, tmp_path: Path
) -> None:
    pool, _ = stack
    start(pool, "w1", tmp_path)
    start(pool, "w2", tmp_path)
    job = upload(show, long_clip, "shared")
    wait_for(lambda: finished(job), 240, lambda: f"job {job.pk}: {job.state}/{job.stage}\n{pool.log_tail('w1')}"
             f"\n{pool.log_tail('w2')}")  # fmt: skip
    assert job.state == State.SUCCEEDED, (job.error, job.error_detail)
    assert job.attempts == 1
    parts = ChunkPart.objects.filter(job=job)
    assert parts.count() == 4 and all(p.state == "done" and p.tries == 1 for p in parts)
    # Both workers did parts (each log names the parts it finished).
    doers = {name for name in ("w1", "w2") for line in pool.log_lines(name) if line.get("message") == "part finished"}
    assert doers == {"w1", "w2"}
    video = job.source.video
    assert video is not None
    video.refresh_from_db()
    assert video.status == Status.READY
    assert set(Rendition.objects.filter(video=video, kind="video_mp4").values_list("variant", flat=True)) == {
        "480p",
        "360p",
    }


def test_a_worker_killed_during_a_chunk_costs_that_chunk_only(
    stack: tuple[Workers, dict[str, str]], show: Show, long_clip: Path, tmp_path: Path
) -> None:
    pool, env = stack
    gate = FfmpegGate(tmp_path / "gate")
    try:
        # The doomed worker's video encodes are held at the gate; the survivor's are not.
        doomed = start(pool, "doomed", tmp_path, gate.env)
        job = upload(show, long_clip, "killed")

        def holding_a_chunk() -> bool:
            return ChunkPart.objects.filter(job=job, kind="chunk", state="running").exists()

        wait_for(holding_a_chunk, 120, lambda: f"a chunk to start:\n{pool.log_tail('doomed')}")
        held = ChunkPart.objects.get(job=job, kind="chunk", state="running")
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait()
        # A surviving worker plus the sweeper (run here, as beat would) redo the dead worker's chunk alone.
        start(pool, "survivor", tmp_path)
        from episodes.services.processing import jobs_sweep

        def done() -> bool:
            jobs_sweep()
            return finished(job)

        wait_for(done, 240, lambda: f"job {job.pk}: {job.state}/{job.stage}\n{pool.log_tail('survivor')}")
    finally:
        gate.open()
    assert job.state == State.SUCCEEDED, (job.error, job.error_detail)
    assert job.attempts == 1  # the job was never restarted as a whole
    held.refresh_from_db()
    assert held.tries == 2 and held.state == "done"
    others = ChunkPart.objects.filter(job=job).exclude(pk=held.pk)
    assert all(p.tries == 1 for p in others)
    assert f"-{held.tries}" in held.stored_prefix.rsplit("/", 1)[-1]  # read from the try that finished
    assert env["MEDIA_CHUNK_SECONDS"] == "6"
