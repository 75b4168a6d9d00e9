"""A long video's job in chunks through the service layer: parts, leases per part, preview, swap, sweeper.

Tasks run in-process (eager) on the embedded default; tests/stack/test_chunked_stack.py runs real workers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from django.core.files import File
from django.utils import timezone

from episodes.models import ChunkPart, ProcessingJob, Show, Status, Video
from episodes.selectors import job_chunk_progress
from episodes.services import processing
from episodes.services.chunk_leases import part_claim
from episodes.services.chunked import parts_sweep
from episodes.services.content import video_create
from episodes.services.uploads import media_source_create
from tests.conftest import make_clip

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def eager_tasks(settings: Any) -> Iterator[None]:
    from media_hub.celery import app

    settings.MEDIA_CHUNK_AFTER_SECONDS = 8
    settings.MEDIA_CHUNK_SECONDS = 6
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """13 s of 640×480 (two rungs: 480p and 360p) with a tone: chunks 0–6 and 6–13."""
    return make_clip(
        tmp_path_factory.mktemp("clips") / "long.mp4",
        "-f", "lavfi", "-i", "testsrc2=s=640x480:r=15:d=13",
        "-f", "lavfi", "-i", "sine=f=330:d=13:sample_rate=48000",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
    )  # fmt: skip


def upload(video: Video, path: Path) -> ProcessingJob:
    with path.open("rb") as fh:
        source = media_source_create(owner=video, file=File(fh, name=path.name), filename=path.name)
    return source.jobs.get()


def test_a_long_video_is_encoded_in_chunks_then_joined_into_one_ladder(
    show: Show, long_clip: Path, media_storage: Path, caplog: pytest.LogCaptureFixture
) -> None:
    video = video_create(show=show, title="Long explainer", slug="long")
    with caplog.at_level(logging.INFO, logger="episodes.services.chunked_join"):
        job = upload(video, long_clip)
    job.refresh_from_db()
    assert job.state == ProcessingJob.State.SUCCEEDED, (job.error, job.error_detail)
    assert job.attempts == 1 and job.progress == 100
    parts = ChunkPart.objects.filter(job=job)
    assert sorted((p.kind, p.index, p.start, p.end) for p in parts) == [
        ("chunk", 0, 0.0, 6.0), ("chunk", 1, 6.0, 13.0), ("join", 0, 0.0, 0.0), ("sound", 0, 0.0, 13.0),
    ]  # fmt: skip
    assert all(p.state == "done" and p.tries == 1 for p in parts)
    assert job_chunk_progress(job) == {"done": 2, "total": 2}
    from episodes.api.producer import _processing

    status = _processing(video)  # what GET /videos/{id}/processing answers
    assert status.job is not None and (status.job.chunks_done, status.job.chunks_total) == (2, 2)
    # The lowest rung was published as a preview first, then the whole ladder replaced it.
    assert any("preview published" in r.message for r in caplog.records)
    video.refresh_from_db()
    assert video.status == Status.READY
    mp4s = {r.variant: r for r in video.renditions.filter(kind="video_mp4")}
    assert set(mp4s) == {"480p", "360p"}
    kinds = set(video.renditions.values_list("kind", flat=True))
    assert {"hls", "poster", "thumbnail", "storyboard", "storyboard_vtt", "audio_aac", "waveform"} <= kinds
    master = (media_storage / video.renditions.get(kind="hls").storage_key).read_text()
    assert "480p/index.m3u8" in master and "360p/index.m3u8" in master
    with av.open(str(media_storage / mp4s["480p"].storage_key)) as container:
        frames = sum(1 for _ in container.demux(container.streams.video[0]) if _.pts is not None)
    assert frames == 13 * 15
    # No preview files, no chunk files and no scratch folders are left.
    assert not any("-preview" in r.storage_key for r in video.renditions.all())
    assert not (media_storage / "work" / str(job.pk)).exists() or not any((media_storage / "work").rglob("*.mp4"))
    assert list(Path(processing.work_root()).iterdir()) == []


def test_a_part_whose_worker_died_is_queued_again_alone_and_the_job_stays_leased(
    show: Show, long_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from episodes import tasks

    # Nothing runs by itself: the test plays the workers and reads the messages the services send.
    sent: list[tuple[str, int]] = []
    # Jobs are sent through the outbox (episodes.services.outbox), parts straight to their task.
    monkeypatch.setattr(tasks.process_media, "apply_async", lambda args, **kw: sent.append(("job", args[0])))
    monkeypatch.setattr(tasks.process_part, "delay", lambda part_id: sent.append(("part", part_id)))
    video = video_create(show=show, title="Long", slug="long-2")
    job = upload(video, long_clip)
    assert processing.job_run(job_id=job.pk, worker_id="w1") is not None
    job.refresh_from_db()
    assert job.state == "running" and job.lease_owner == "chunked:1"
    parts = ChunkPart.objects.filter(job=job)
    assert sorted(sent[1:]) == sorted(("part", pk) for pk in parts.values_list("pk", flat=True))
    chunk = parts.get(kind="chunk", index=1)
    claim = part_claim(part_id=chunk.pk, worker_id="doomed")
    assert claim is not None and part_claim(part_id=chunk.pk, worker_id="other") is None
    # The worker is SIGKILLed: its lease runs out; the job's own lease too, as nothing beats for it.
    past = timezone.now() - timedelta(seconds=1)
    ChunkPart.objects.filter(pk=chunk.pk).update(lease_expires_at=past)
    ProcessingJob.objects.filter(pk=job.pk).update(lease_expires_at=past)
    sent.clear()
    assert processing.jobs_sweep() == []  # the job is not restarted: its parts are still to do
    assert sent == [("part", chunk.pk)]  # only the dead worker's chunk is sent again
    job.refresh_from_db()
    assert job.state == "running" and job.attempts == 1
    assert job.lease_expires_at is not None and job.lease_expires_at > timezone.now()
    chunk.refresh_from_db()
    assert chunk.state == "queued" and chunk.tries == 1
    assert parts_sweep() == []  # nothing else is stale
    again = part_claim(part_id=chunk.pk, worker_id="w2")
    assert again is not None and again.tries == 2
