"""Processing jobs end to end in the service layer: real ffmpeg, real storage, leases and the sweeper."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from episodes.models import Episode, MediaSource, ProcessingJob, Rendition, Show, Status, Video
from episodes.services import processing
from episodes.services.content import episode_publish, video_create
from episodes.services.uploads import media_reprocess, media_source_create
from episodes.storage import sha256_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def eager_tasks(settings: Any) -> Iterator[None]:
    """Run tasks in-process when the transaction commits (the real worker path is tested elsewhere)."""
    from media_hub.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def upload(owner: Episode | Video, path: Path, name: str) -> MediaSource:
    with path.open("rb") as fh:
        return media_source_create(owner=owner, file=File(fh, name=name), filename=name)


def stored_files(root: Path, prefix: str) -> list[str]:
    base = root / prefix
    return sorted(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file()) if base.exists() else []


def test_an_uploaded_episode_becomes_ready_with_tagged_renditions(
    episode: Episode, speech_wav: Path, media_storage: Path
) -> None:
    episode.chapters = [{"start": 0, "title": "Вступ"}, {"start": 2, "title": "Новини"}]
    episode.save()
    source = upload(episode, speech_wav, "Україна — тиждень 5.wav")
    job = source.jobs.get()
    assert job.state == ProcessingJob.State.SUCCEEDED, (job.error, job.error_detail)
    assert job.progress == 100 and job.attempts == 1
    # The source's loudness and the gain applied are recorded on the job for the producer.
    assert {"integrated_lufs", "true_peak_dbtp", "gain_db"} <= set(job.loudness)
    episode.refresh_from_db()
    assert episode.status == Status.READY
    kinds = set(episode.renditions.values_list("kind", flat=True))
    assert {"audio_mp3", "audio_aac", "audio_opus", "waveform"} <= kinds
    mp3 = episode.renditions.get(kind="audio_mp3")
    assert mp3.mime_type == "audio/mpeg" and mp3.duration == pytest.approx(4.0, abs=0.2)
    stored = media_storage / mp3.storage_key
    assert stored.stat().st_size == mp3.byte_size and sha256_of(stored) == mp3.sha256
    # What listeners hear: the stored enclosure measures −16 LUFS (±1 LU) with true peak ≤ −1 dBTP.
    from tests.episodes.media.conftest import ebur128

    integrated, true_peak = ebur128(stored)
    assert integrated == pytest.approx(-16.0, abs=1.0) and true_peak <= -1.0
    # The producer's Unicode file name survives; the source is kept after processing.
    source.refresh_from_db()
    assert source.original_filename == "Україна — тиждень 5.wav" and source.kind == "audio"
    assert default_storage.exists(source.storage_key)
    from mutagen.id3 import ID3

    tags = ID3(stored)
    assert str(tags["TIT2"]) == "Україна: тиждень 5"
    assert str(tags["TALB"]) == "Ukraine Insights"
    assert sorted(str(f.sub_frames["TIT2"]) for f in tags.getall("CHAP")) == ["Вступ", "Новини"]
    # No scratch files are left behind.
    assert list(Path(processing.work_root()).iterdir()) == []


def test_reprocessing_swaps_the_whole_set_and_removes_the_old_files(
    episode: Episode, speech_wav: Path, media_storage: Path
) -> None:
    upload(episode, speech_wav, "take1.wav")
    old = {r.kind: r.storage_key for r in episode.renditions.all()}
    old_run = old["audio_mp3"].rsplit("/", 1)[0]
    job = media_reprocess(owner=episode)
    job.refresh_from_db()
    assert job.state == ProcessingJob.State.SUCCEEDED
    new = {r.kind: r.storage_key for r in episode.renditions.all()}
    assert set(new) == set(old)
    assert all(new[k] != old[k] for k in new)
    assert Rendition.objects.filter(episode=episode, kind="audio_mp3").count() == 1
    assert stored_files(media_storage, old_run) == []


def test_a_published_episode_stays_published_while_it_is_reprocessed(episode: Episode, speech_wav: Path) -> None:
    upload(episode, speech_wav, "take1.wav")
    episode_publish(episode=episode)
    media_reprocess(owner=episode)
    episode.refresh_from_db()
    assert episode.status == Status.PUBLISHED


def test_random_bytes_fail_with_a_reason_and_the_upload_is_kept(episode: Episode, tmp_path: Path) -> None:
    junk = tmp_path / "episode.mp3"
    junk.write_bytes(os.urandom(64 * 1024))
    source = upload(episode, junk, "episode.mp3")
    job = source.jobs.get()
    assert job.state == ProcessingJob.State.FAILED
    assert job.error and "media" in job.error.lower()
    episode.refresh_from_db()
    assert episode.status == Status.FAILED
    assert not episode.renditions.exists()
    assert default_storage.exists(source.storage_key)


def test_a_probe_starved_by_a_busy_machine_is_retried_then_fails_keeping_the_upload(
    episode: Episode, speech_wav: Path, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    # The probe child gets no CPU (a sleeping stand-in for the probe worker), as on a swamped machine.
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    settings.MEDIA_PROBE_TIMEOUT_SECONDS = 1
    source = upload(episode, speech_wav, "episode.wav")
    job = source.jobs.get()
    # Eager tasks run the retries at once: every attempt was starved, then the job failed with what to do.
    assert job.state == ProcessingJob.State.FAILED and job.attempts == job.max_attempts
    assert job.error and "too busy" in job.error and "re-process" in job.error
    assert default_storage.exists(source.storage_key)


def test_an_explainer_video_gets_a_ladder_hls_and_images(show: Show, explainer_mp4: Path, media_storage: Path) -> None:
    video = video_create(show=show, title="Що таке санкції?", slug="sanktsii")
    source = upload(video, explainer_mp4, "санкції.mp4")
    job = source.jobs.get()
    assert job.state == ProcessingJob.State.SUCCEEDED, (job.error, job.error_detail)
    kinds = set(video.renditions.values_list("kind", flat=True))
    assert {"video_mp4", "hls", "poster", "thumbnail", "storyboard", "storyboard_vtt", "audio_mp3"} <= kinds
    mp4 = video.renditions.get(kind="video_mp4")
    assert (mp4.width, mp4.height) == (320, 180)
    hls = video.renditions.get(kind="hls")
    master = (media_storage / hls.storage_key).read_text()
    assert "#EXT-X-STREAM-INF" in master
    # Every file the master playlist refers to was stored next to it.
    folder = (media_storage / hls.storage_key).parent
    for line in master.splitlines():
        if line and not line.startswith("#"):
            assert (folder / line).exists(), line


def test_audio_uploaded_to_a_video_is_rejected_with_a_reason(show: Show, speech_wav: Path) -> None:
    video = video_create(show=show, title="Explainer", slug="explainer")
    job = upload(video, speech_wav, "voice.wav").jobs.get()
    assert job.state == ProcessingJob.State.FAILED
    assert "needs a video file" in job.error


def _running_job(episode: Episode, **fields: Any) -> ProcessingJob:
    source = MediaSource.objects.create(episode=episode, storage_key="k", original_filename="a.wav", byte_size=1)
    values: dict[str, Any] = {
        "state": ProcessingJob.State.RUNNING,
        "lease_owner": "dead-worker",
        "lease_expires_at": timezone.now() - timedelta(seconds=5),
        "attempts": 1,
    }
    values.update(fields)
    return ProcessingJob.objects.create(source=source, **values)


def test_only_one_worker_can_claim_a_job(episode: Episode) -> None:
    source = MediaSource.objects.create(episode=episode, storage_key="k", original_filename="a.wav", byte_size=1)
    job = ProcessingJob.objects.create(source=source)
    first = processing.job_claim(job_id=job.pk, worker_id="a")
    second = processing.job_claim(job_id=job.pk, worker_id="b")
    assert first is not None and second is None
    job.refresh_from_db()
    assert job.lease_owner == "a" and job.attempts == 1


def test_a_live_lease_blocks_the_heartbeat_of_a_previous_owner(episode: Episode) -> None:
    job = _running_job(episode)
    claim = processing.job_claim(job_id=job.pk, worker_id="new-worker")
    assert claim is not None and claim.attempt == 2
    stale = processing.Claim(job_id=job.pk, worker_id="dead-worker", attempt=1)
    with pytest.raises(processing.LeaseLost):
        processing.job_heartbeat(claim=stale, progress=50)


def test_sweeper_requeues_a_job_whose_worker_died(episode: Episode, speech_wav: Path) -> None:
    source = upload(episode, speech_wav, "a.wav")
    job = source.jobs.get()
    # Pretend the worker died mid-run on a previous attempt: lease expired, renditions not swapped.
    ProcessingJob.objects.filter(pk=job.pk).update(
        state=ProcessingJob.State.RUNNING,
        lease_owner="dead",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        attempts=1,
    )
    requeued = processing.jobs_sweep()
    assert requeued == [job.pk]
    job.refresh_from_db()
    # Eager mode ran the re-queued job to completion.
    assert job.state == ProcessingJob.State.SUCCEEDED and job.attempts == 2


def test_sweeper_fails_a_job_out_of_attempts_with_a_reason(episode: Episode) -> None:
    job = _running_job(episode, attempts=3, max_attempts=3)
    assert processing.jobs_sweep() == []
    job.refresh_from_db()
    assert job.state == ProcessingJob.State.FAILED
    assert "stopped responding 3 times" in job.error
    episode.refresh_from_db()
    assert episode.status == Status.FAILED


def test_sweeper_resends_a_queued_job_nobody_picked_up(episode: Episode, settings: Any) -> None:
    source = MediaSource.objects.create(episode=episode, storage_key="k", original_filename="a.wav", byte_size=1)
    job = ProcessingJob.objects.create(
        source=source, queued_at=timezone.now() - timedelta(seconds=settings.MEDIA_JOB_RESEND_SECONDS + 1)
    )
    fresh = ProcessingJob.objects.create(source=source)
    requeued = processing.jobs_sweep()
    assert job.pk in requeued and fresh.pk not in requeued


def test_an_explainer_becomes_a_podcast_episode_in_one_action(show: Show, explainer_mp4: Path) -> None:
    from mutagen.id3 import ID3

    from episodes.services.errors import Conflict
    from episodes.services.video_episode import video_make_episode

    video = video_create(show=show, title="Що таке санкції?", slug="sanktsii", description="<p>Пояснення.</p>")
    upload(video, explainer_mp4, "санкції.mp4")
    episode = video_make_episode(video=video)
    episode.refresh_from_db()
    video.refresh_from_db()
    assert video.episode == episode and episode.show == show
    assert episode.status == Status.READY, episode.sources.get().jobs.get().error
    assert episode.title == "Що таке санкції?" and episode.summary == "Пояснення."
    kinds = set(episode.renditions.values_list("kind", flat=True))
    assert {"audio_mp3", "audio_aac", "audio_opus", "waveform"} <= kinds
    mp3 = episode.renditions.get(kind="audio_mp3")
    assert mp3.duration == pytest.approx(3.0, abs=0.2)
    assert str(ID3(Path(default_storage.path(mp3.storage_key)))["TIT2"]) == "Що таке санкції?"
    # The episode owns a copy of the upload: re-processing the video never touches it.
    assert episode.sources.get().storage_key != video.sources.get().storage_key
    with pytest.raises(Conflict, match="already has an episode"):
        video_make_episode(video=video)


def test_a_video_without_processed_sound_cannot_become_an_episode(show: Show) -> None:
    from episodes.services.errors import Conflict
    from episodes.services.video_episode import video_make_episode

    video = video_create(show=show, title="Draft", slug="draft")
    with pytest.raises(Conflict, match="no processed sound yet"):
        video_make_episode(video=video)
    assert not Episode.objects.filter(show=show, slug="draft").exists()
