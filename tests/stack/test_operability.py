"""Operability: /metrics in the Prometheus text format and JSON log lines that carry the job's ids."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from episodes.models import Episode, MediaSource, ProcessingJob, Show
from episodes.services import processing
from episodes.services.content import video_create
from episodes.services.uploads import media_source_create
from tests.conftest import purge_queues

pytestmark = pytest.mark.django_db(transaction=True)
State = ProcessingJob.State


def scrape(client: Client | None = None, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def make_job(source: MediaSource, state: str, seconds: float | None) -> ProcessingJob:
    now = timezone.now()
    started = now - timedelta(seconds=seconds or 0) if seconds is not None else None
    lease = {"lease_owner": "w:1", "lease_expires_at": now + timedelta(minutes=2)} if state == State.RUNNING else {}
    return ProcessingJob.objects.create(
        source=source, state=state, started_at=started, finished_at=now if seconds is not None else None, **lease
    )


def test_metrics_report_jobs_durations_queues_feed_requests_and_downloads(show: Show, episode: Episode) -> None:
    from feeds.models import DailyDownloads
    from tests.conftest import attach_fake_audio

    attach_fake_audio(episode)
    source = MediaSource.objects.get(episode=episode)
    for state, seconds in [(State.SUCCEEDED, 3), (State.SUCCEEDED, 45), (State.SUCCEEDED, 700), (State.FAILED, 20),
                           (State.QUEUED, None), (State.RUNNING, None), (State.RUNNING, None)]:  # fmt: skip
        make_job(source, state, seconds)
    # The last running job's worker is gone: its lease ran out, the sweeper has not re-queued it yet.
    stale = ProcessingJob.objects.filter(state=State.RUNNING).order_by("-pk").first()
    assert stale is not None
    ProcessingJob.objects.filter(pk=stale.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    today = timezone.now().date()
    for app, n in (("Apple Podcasts", 5), ("Spotify", 2)):
        DailyDownloads.objects.create(
            day=today, target=f"e:{episode.pk}", show=show, episode=episode, app=app, downloads=n
        )
    purge_queues()
    from episodes.tasks import expire_uploads, process_media, sweep_stale_jobs

    before = scrape()
    # Two transcodes, one control task and one light task wait in the broker (no worker runs in this test).
    process_media.apply_async((10**9,))
    process_media.apply_async((10**9 + 1,))
    sweep_stale_jobs.apply_async()
    expire_uploads.apply_async()
    Client().get(f"/feeds/{show.slug}.xml")
    Client().get(f"/d/e/{episode.pk}/audio_mp3.mp3", headers={"Range": "bytes=0-1"})
    after = scrape()
    purge_queues()

    assert after[("media_hub_jobs", (("state", "succeeded"),))] == 3
    assert after[("media_hub_jobs", (("state", "failed"),))] == 1
    assert after[("media_hub_jobs", (("state", "queued"),))] == 1
    assert after[("media_hub_jobs", (("state", "running"),))] == 1
    assert after[("media_hub_jobs", (("state", "stale"),))] == 1
    ok = (("state", "succeeded"),)
    assert after[("media_hub_job_duration_seconds_count", ok)] == 3
    assert after[("media_hub_job_duration_seconds_bucket", (("le", "5.0"), *ok))] == 1
    assert after[("media_hub_job_duration_seconds_bucket", (("le", "60.0"), *ok))] == 2
    assert after[("media_hub_job_duration_seconds_bucket", (("le", "600.0"), *ok))] == 2
    assert after[("media_hub_job_duration_seconds_bucket", (("le", "+Inf"), *ok))] == 3
    assert 747 <= after[("media_hub_job_duration_seconds_sum", ok)] <= 750
    assert after[("media_hub_queue_depth", (("queue", "media"),))] == 2
    assert after[("media_hub_queue_depth", (("queue", "control"),))] == 1
    assert after[("media_hub_queue_depth", (("queue", "default"),))] == 1
    # No worker and no beat ever ran against this database.
    for queue in ("media", "control", "default"):
        assert after[("media_hub_worker_heartbeat_age_seconds", (("queue", queue),))] == float("inf")
        assert after[("media_hub_workers", (("queue", queue),))] == 0
    assert after[("media_hub_beat_tick_age_seconds", ())] == float("inf")
    assert after[("media_hub_downloads_total", (("kind", "episode"),))] == 7
    assert after[("media_hub_downloads_total", (("kind", "video"),))] == 0
    for kind in ("feed", "media"):
        key = ("media_hub_http_requests_total", (("kind", kind),))
        assert after[key] - before.get(key, 0) == 1


def test_metrics_can_require_a_token(settings: Any) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert Client().get("/metrics").status_code == 403
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert "media_hub_jobs" in str(scrape(Authorization="Bearer s3cret-scrape-token"))


def test_job_log_lines_are_json_with_the_job_and_media_ids(
    settings: Any, show: Show, explainer_mp4: Path, tmp_path: Path
) -> None:
    # The formatter production uses (settings.LOGGING), on a stream we can read.
    configurator = logging.config.DictConfigurator(settings.LOGGING)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(configurator.configure_formatter(settings.LOGGING["formatters"]["json"]))
    logger = logging.getLogger("episodes.services.processing")
    logger.addHandler(handler)
    try:
        video = video_create(show=show, title="Логи", slug="logs")
        with explainer_mp4.open("rb") as fh:
            source = media_source_create(owner=video, file=File(fh, name="e.mp4"), filename="e.mp4")
        job = source.jobs.get()
        processing.job_run(job_id=job.pk, worker_id="host:42")
    finally:
        logger.removeHandler(handler)

    lines = [json.loads(raw) for raw in stream.getvalue().splitlines()]
    by_message = {line["message"]: line for line in lines}
    done = by_message["job succeeded"]
    assert done["level"] == "INFO" and done["logger"] == "episodes.services.processing" and done["time"]
    assert (done["job_id"], done["source_id"], done["video_id"], done["episode_id"]) == (
        job.pk, source.pk, video.pk, None,
    )  # fmt: skip
    assert done["attempt"] == 1 and done["worker_id"] == "host:42" and done["renditions"] >= 5
    assert by_message["job started"]["job_id"] == job.pk
