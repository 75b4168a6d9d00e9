"""A real Celery worker process, killed mid-transcode: the sweeper re-queues the job and it ends ready.

Runs on whichever broker the settings name: the file-system broker on the embedded default, Redis on the
production stack (CI sets CELERY_BROKER_URL).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File

from episodes.models import ChunkPart, ProcessingJob, Rendition, Show, Status
from episodes.services import processing
from episodes.services.content import video_create
from episodes.services.uploads import media_source_create
from tests.conftest import child_env, make_clip, purge_queues
from tests.stack.procs import FfmpegGate, Workers, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def busy_video(tmp_path: Path) -> Path:
    return make_clip(
        tmp_path / "long.mp4",
        "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=4",
        "-f", "lavfi", "-i", "sine=f=220:d=4:sample_rate=48000",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
    )  # fmt: skip


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[FfmpegGate]:
    """Holds video encodes, so the worker is surely mid-transcode when it is killed."""
    with FfmpegGate(tmp_path / "gate") as held:
        yield held


@pytest.fixture
def workers(settings: Any, tmp_path: Path, gate: FfmpegGate) -> Iterator[Workers]:
    purge_queues()
    settings.MEDIA_JOB_LEASE_SECONDS = 3
    pool = Workers({**child_env(settings), "MEDIA_JOB_LEASE_SECONDS": "3"}, tmp_path)
    yield pool
    gate.open()
    pool.stop_all()


def test_sigkilled_worker_mid_transcode_is_recovered_without_partial_or_duplicate_renditions(
    show: Show, busy_video: Path, workers: Workers, gate: FfmpegGate, media_storage: Path
) -> None:
    victim = workers.start("victim", env=gate.env)
    video = video_create(show=show, title="Довге пояснення", slug="dovhe")
    with busy_video.open("rb") as fh:
        source = media_source_create(owner=video, file=File(fh, name="long.mp4"), filename="long.mp4")
    job = source.jobs.get()

    def encoding() -> bool:
        job.refresh_from_db()
        return job.state == ProcessingJob.State.RUNNING and job.stage in {"encoding", "packaging"}

    wait_for(encoding, 90, lambda: f"the worker to start encoding:\n{workers.log_tail('victim')}")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    gate.open()

    # Killed mid-run: nothing visible, the job still looks leased until its lease runs out.
    assert not Rendition.objects.filter(video=video).exists()
    job.refresh_from_db()
    assert job.state == ProcessingJob.State.RUNNING and job.attempts == 1
    leftovers = list(Path(processing.work_root()).glob(f"job-{job.pk}-*"))
    assert leftovers, "the killed run's scratch folder should still be there for the next run to remove"

    wait_for(lambda: processing.jobs_sweep() == [job.pk], 30, "the sweeper to re-queue the job")
    workers.start("rescuer")

    def finished() -> bool:
        job.refresh_from_db()
        return job.state in {ProcessingJob.State.SUCCEEDED, ProcessingJob.State.FAILED}

    wait_for(
        finished,
        180,
        lambda: f"the re-queued job to finish (state {job.state}, stage {job.stage}, {job.attempts} tries)",
    )
    assert job.state == ProcessingJob.State.SUCCEEDED, (job.error, job.error_detail)
    assert job.attempts == 2
    video.refresh_from_db()
    assert video.status == Status.READY
    renditions = list(Rendition.objects.filter(video=video))
    assert len({(r.kind, r.variant) for r in renditions}) == len(renditions)
    assert {r.variant for r in renditions if r.kind == "video_mp4"} == {"720p", "480p", "360p"}
    # One run's files in storage, and no scratch folders left.
    runs = {r.storage_key.split("/")[3] for r in renditions}
    assert len(runs) == 1
    stored_runs = {p.name for p in (media_storage / "renditions" / "videos" / str(video.pk)).iterdir()}
    assert stored_runs == runs
    # The worker removes its scratch folder in its last step, just after the job is marked succeeded.
    wait_for(
        lambda: list(Path(processing.work_root()).glob(f"job-{job.pk}-*")) == [],
        15,
        lambda: f"the scratch folders to go: {list(Path(processing.work_root()).glob(f'job-{job.pk}-*'))}",
    )


def test_hostile_uploads_fail_with_reasons_and_the_worker_carries_on_with_the_queue(
    show: Show, explainer_mp4: Path, workers: Workers, tmp_path: Path
) -> None:
    """A real worker takes a disguised HLS playlist, random bytes and a good clip, in that order."""
    playlist = tmp_path / "interview.mp4"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    junk = tmp_path / "junk.mov"
    junk.write_bytes(os.urandom(256 * 1024))
    jobs = []
    for index, path in enumerate([playlist, junk, explainer_mp4]):
        video = video_create(show=show, title=f"Upload {index}", slug=f"upload-{index}")
        with path.open("rb") as fh:
            jobs.append(media_source_create(owner=video, file=File(fh, name=path.name), filename=path.name).jobs.get())
    worker = workers.start("queue")

    def all_done() -> bool:
        return all(
            ProcessingJob.objects.get(pk=job.pk).state in {ProcessingJob.State.SUCCEEDED, ProcessingJob.State.FAILED}
            for job in jobs
        )

    wait_for(all_done, 180, "the queue to drain")
    states = [ProcessingJob.objects.get(pk=job.pk) for job in jobs]
    assert [job.state for job in states] == ["failed", "failed", "succeeded"], [(j.state, j.error) for j in states]
    assert all(job.error and "\n" not in job.error for job in states[:2])
    assert worker.poll() is None, "the worker must survive hostile input"
    assert not Rendition.objects.filter(video__title__in=["Upload 0", "Upload 1"]).exists()


@pytest.fixture
def long_video(tmp_path: Path) -> Path:
    """13 s of 640×480 (rungs 480p and 360p) with a tone: chunked in 6 s spans below."""
    return make_clip(
        tmp_path / "explainer.mp4",
        "-f", "lavfi", "-i", "testsrc2=s=640x480:r=15:d=13",
        "-f", "lavfi", "-i", "sine=f=330:d=13:sample_rate=48000",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
    )  # fmt: skip


def test_a_fleet_of_one_finishes_a_chunked_video_after_its_only_worker_is_killed_mid_chunk(
    settings: Any, show: Show, long_video: Path, workers: Workers, gate: FfmpegGate, media_storage: Path
) -> None:
    """The embedded default's shape (one worker; on the SQLite run, the file-system broker): the worker is
    SIGKILLed while it holds a chunk, a worker is started again, and the sweeper hands it that chunk alone."""
    # A 10 s lease, not the fixture's 3 s: on a loaded CI machine with SQLite, a live part's heartbeat can wait
    # on the database lock for seconds, and a sweep would then rightly hand that part to another try.
    chunking = {"MEDIA_CHUNK_AFTER_SECONDS": "8", "MEDIA_CHUNK_SECONDS": "6", "MEDIA_JOB_LEASE_SECONDS": "10"}
    settings.MEDIA_CHUNK_AFTER_SECONDS, settings.MEDIA_CHUNK_SECONDS, settings.MEDIA_JOB_LEASE_SECONDS = 8, 6, 10
    workers.env = {**workers.env, **chunking}
    only = workers.start("only", env=gate.env)
    video = video_create(show=show, title="Пояснення частинами", slug="chastynamy")
    with long_video.open("rb") as fh:
        source = media_source_create(owner=video, file=File(fh, name="explainer.mp4"), filename="explainer.mp4")
    job = source.jobs.get()

    def holding_a_chunk() -> bool:
        return ChunkPart.objects.filter(job=job, kind="chunk", state="running").exists()

    wait_for(holding_a_chunk, 90, lambda: f"a chunk to start:\n{workers.log_tail('only')}")
    held = ChunkPart.objects.get(job=job, kind="chunk", state="running")
    os.killpg(only.pid, signal.SIGKILL)
    only.wait(timeout=10)
    gate.open()
    assert not Rendition.objects.filter(video=video).exists()  # nothing partial is visible

    workers.start("restarted")

    swept = [0.0]

    def finished() -> bool:
        if time.monotonic() - swept[0] >= 1.0:  # beat's sweep, once a second: requeues the dead worker's chunk
            processing.jobs_sweep()
            swept[0] = time.monotonic()
        job.refresh_from_db()
        return job.state in {ProcessingJob.State.SUCCEEDED, ProcessingJob.State.FAILED}

    wait_for(finished, 240, lambda: f"job {job.pk}: {job.state}/{job.stage}\n{workers.log_tail('restarted')}")
    assert job.state == ProcessingJob.State.SUCCEEDED, (job.error, job.error_detail)
    assert job.attempts == 1  # the job was never restarted as a whole
    held.refresh_from_db()
    assert (held.state, held.tries) == ("done", 2)
    parts = ChunkPart.objects.filter(job=job)
    assert {p.kind for p in parts} == {"chunk", "sound", "join"} and parts.filter(kind="chunk").count() == 2
    assert all(p.tries == 1 for p in parts.exclude(pk=held.pk)), (
        [(p.kind, p.index, p.tries) for p in parts],
        [line for name in ("only", "restarted") for line in workers.log_lines(name) if "part_id" in line],
    )
    video.refresh_from_db()
    assert video.status == Status.READY
    renditions = list(Rendition.objects.filter(video=video))
    assert len({(r.kind, r.variant) for r in renditions}) == len(renditions)
    assert {r.variant for r in renditions if r.kind == "video_mp4"} == {"480p", "360p"}
    # The full ladder replaced the preview: one run's files stored, and the parts' work files are gone.
    runs = {r.storage_key.split("/")[3] for r in renditions}
    assert len(runs) == 1 and not next(iter(runs)).endswith("-preview")
    stored = media_storage / "renditions" / "videos" / str(video.pk)
    wait_for(lambda: {p.name for p in stored.iterdir()} == runs, 15, lambda: f"{list(stored.iterdir())} vs {runs}")
    wait_for(lambda: not (media_storage / "work" / str(job.pk)).exists(), 15, "the parts' work files to go")
