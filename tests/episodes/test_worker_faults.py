"""A real Celery worker process, killed mid-transcode: the sweeper re-queues the job and it ends ready.

Runs on whichever broker the settings name: the file-system broker on the embedded default, Redis on the
production stack (CI sets CELERY_BROKER_URL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File

from episodes.models import ProcessingJob, Rendition, Show, Status
from episodes.services import processing
from episodes.services.content import video_create
from episodes.services.uploads import media_source_create
from tests.conftest import child_env, make_clip, purge_queues

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy_video(tmp_path: Path) -> Path:
    """Long enough (and large enough) that the encode is still running when we kill the worker."""
    return make_clip(
        tmp_path / "long.mp4",
        "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=12",
        "-f", "lavfi", "-i", "sine=f=220:d=12:sample_rate=48000",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
    )  # fmt: skip


class Workers:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []
        self.log = open(os.environ.get("MEDIA_HUB_WORKER_LOG", os.devnull), "ab")  # noqa: SIM115

    def start(self, name: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "media_hub", "worker", "--pool", "solo",
                "--queues", "media,default", "--hostname", f"{name}@%h", "--loglevel", "INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],  # fmt: skip
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def workers(settings: Any) -> Iterator[Workers]:
    purge_queues()
    settings.MEDIA_JOB_LEASE_SECONDS = 3
    pool = Workers({**child_env(settings), "MEDIA_JOB_LEASE_SECONDS": "3"})
    yield pool
    pool.stop_all()


def wait_for(predicate: Any, timeout: float, what: Any) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what() if callable(what) else what}")


def test_sigkilled_worker_mid_transcode_is_recovered_without_partial_or_duplicate_renditions(
    show: Show, busy_video: Path, workers: Workers, media_storage: Path
) -> None:
    victim = workers.start("victim")
    video = video_create(show=show, title="Довге пояснення", slug="dovhe")
    with busy_video.open("rb") as fh:
        source = media_source_create(owner=video, file=File(fh, name="long.mp4"), filename="long.mp4")
    job = source.jobs.get()

    def encoding() -> bool:
        job.refresh_from_db()
        return job.state == ProcessingJob.State.RUNNING and job.stage in {"encoding", "packaging"}

    wait_for(encoding, 90, "the worker to start encoding")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)

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
    assert list(Path(processing.work_root()).glob(f"job-{job.pk}-*")) == []


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
