"""Celery on Redis: the queue layout and limits, then real worker + beat processes running jobs end to end."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files import File
from django.utils import timezone

from episodes.models import Episode, ProcessingJob, Rendition, Show, Status
from episodes.services.content import video_create
from episodes.services.uploads import media_source_create
from tests.conftest import child_env
from tests.stack.procs import ROOT, Workers, purge, redis_broker_url, wait_for


def test_transcodes_control_work_and_light_work_go_to_separate_queues() -> None:
    from media_hub.celery import app

    def queue_of(task: str) -> str:
        return str(app.amqp.router.route({}, task)["queue"].name)

    assert queue_of("episodes.process_media") == "media"
    assert queue_of("episodes.sweep_stale_jobs") == "control"  # never behind a transcode or a backlog of pings
    assert queue_of("feeds.websub_scan") == "control"
    assert queue_of("feeds.record_download") == "default"
    assert queue_of("feeds.websub_ping") == "default"
    assert queue_of("episodes.expire_uploads") == "default"


def test_worker_settings_suit_long_jobs_that_must_not_be_lost() -> None:
    from media_hub.celery import app

    conf = app.conf
    assert conf.worker_prefetch_multiplier == 1  # a worker holds one transcode, not a backlog others could run
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    task: Any = app.tasks["episodes.process_media"]
    # Time limits scale with the longest allowed source; the hard limit leaves room for the soft one to report.
    assert task.soft_time_limit >= 3 * django_settings.MEDIA_MAX_DURATION_SECONDS
    assert task.time_limit > task.soft_time_limit
    if str(conf.broker_url).startswith("redis://"):
        assert conf.broker_transport_options["visibility_timeout"] > task.time_limit
    schedule = conf.beat_schedule
    assert schedule["sweep-stale-jobs"]["task"] == "episodes.sweep_stale_jobs"
    assert schedule["sweep-stale-jobs"]["schedule"] <= 120


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_worker_and_beat_processes_on_redis_run_queued_and_orphaned_jobs(
    settings: Any, show: Show, episode: Episode, speech_wav: Path, explainer_mp4: Path, tmp_path: Path
) -> None:
    broker = redis_broker_url()
    purge(broker)
    env = {**child_env(settings), "CELERY_BROKER_URL": broker, "MEDIA_JOB_SWEEP_SECONDS": "1"}

    # An orphan: its worker died mid-run long ago (lease expired) and its message is gone.
    orphan_video = video_create(show=show, title="Сирота", slug="orphan")
    with explainer_mp4.open("rb") as fh:
        orphan_source = media_source_create(owner=orphan_video, file=File(fh, name="o.mp4"), filename="o.mp4")
    purge(broker)
    orphan = orphan_source.jobs.get()
    ProcessingJob.objects.filter(pk=orphan.pk).update(
        state=ProcessingJob.State.RUNNING, attempts=1, lease_owner="dead-host:1",
        lease_expires_at=timezone.now() - timedelta(minutes=5),
    )  # fmt: skip

    workers = Workers(env, tmp_path)
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "media_hub", "beat", "--loglevel", "INFO",
         "--schedule", str(tmp_path / "beat-schedule")],  # fmt: skip
        cwd=ROOT, env=env, stdout=(tmp_path / "beat.log").open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        workers.start("w1")
        with speech_wav.open("rb") as fh:
            audio = media_source_create(owner=episode, file=File(fh, name="speech.wav"), filename="speech.wav")
        video = video_create(show=show, title="Пояснення", slug="explainer")
        with explainer_mp4.open("rb") as fh:
            clip = media_source_create(owner=video, file=File(fh, name="clip.mp4"), filename="clip.mp4")
        jobs = [audio.jobs.get(), clip.jobs.get(), orphan]

        def all_done() -> bool:
            return all(ProcessingJob.objects.get(pk=j.pk).state == ProcessingJob.State.SUCCEEDED for j in jobs)

        wait_for(all_done, 90, lambda: f"jobs to succeed: {list(ProcessingJob.objects.values('pk', 'state'))}\n"
                 f"{workers.log_tail('w1')}")  # fmt: skip
    finally:
        beat.terminate()
        beat.wait(timeout=20)
        workers.stop_all()

    assert ProcessingJob.objects.get(pk=orphan.pk).attempts == 2  # re-queued by the beat-scheduled sweeper
    for owner in (episode, video, orphan_video):
        owner.refresh_from_db()
        assert owner.status == Status.READY
    assert Rendition.objects.filter(video=video, kind="video_mp4").exists()

    # The worker's logs are JSON lines; a job's lines carry its ids.
    lines = workers.log_lines("w1")
    succeeded = {line["job_id"]: line for line in lines if line.get("message") == "job succeeded"}
    assert set(succeeded) == {j.pk for j in jobs}
    assert succeeded[jobs[0].pk]["episode_id"] == episode.pk and succeeded[jobs[0].pk]["source_id"] == audio.pk
    assert succeeded[jobs[1].pk]["video_id"] == video.pk and succeeded[jobs[1].pk]["renditions"] >= 5
    assert any(line.get("logger", "").startswith("celery") for line in lines), "Celery's own lines are JSON too"
