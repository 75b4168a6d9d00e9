"""Background processes on the production stack, with real processes: zero workers and no beat are visible
(#12.3), two beats never both send (#12.5), and beat's control work runs while every media worker is busy (#12.4).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from episodes.models import ProcessBeat, ProcessingJob, Show
from episodes.services.content import video_create
from tests.conftest import child_env
from tests.stack.procs import Beats, FfmpegGate, PrivateRedis, Workers, purge, redis_broker_url, wait_for
from tests.stack.test_faults import clip, state_of, upload, wait_stage

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
State = ProcessingJob.State


@pytest.fixture(scope="module")
def busy_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clip(tmp_path_factory.mktemp("clips") / "busy.mp4", "640x360", 3)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[tuple[Workers, Beats]]:
    workers, beats = Workers({}, tmp_path), Beats({}, tmp_path)
    yield workers, beats
    workers.stop_all()
    beats.stop_all()


def status() -> tuple[int, dict[str, Any]]:
    response = Client().get("/health/status")
    return response.status_code, response.json()


def gauges() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body = Client().get("/metrics").content.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def test_zero_workers_and_no_beat_are_reported_then_clear_when_they_run(
    settings: Any, procs: tuple[Workers, Beats]
) -> None:
    workers, beats = procs
    broker = redis_broker_url()
    purge(broker)
    settings.PROCESS_HEARTBEAT_SECONDS = 1  # stale after 3 s
    env = {**child_env(settings), "CELERY_BROKER_URL": broker, "PROCESS_HEARTBEAT_SECONDS": "1"}
    workers.env = beats.env = env

    code, body = status()
    assert code == 503 and body["status"] == "degraded", body
    assert "no live worker consumes the 'media' queue" in body["missing"]
    assert "no live worker consumes the 'control' queue" in body["missing"]
    assert any(m.startswith("no beat is running") for m in body["missing"])
    assert Client().get("/health/ready").status_code == 200, "a missing worker must not pull web out of the LB"
    assert gauges()[("media_hub_worker_heartbeat_age_seconds", (("queue", "media"),))] == float("inf")

    # The decided production shape: one small control worker, media workers, exactly one beat.
    workers.start("control", queues="control,default")
    workers.start("media", queues="media")
    beats.start("beat")

    def all_live() -> bool:
        return status()[0] == 200

    wait_for(all_live, 90, lambda: f"status to be ok: {status()[1]}\n{workers.log_tail('control')}")
    code, body = status()
    assert body["missing"] == [] and body["workers"]["media"]["live"] == 1 and body["beat"]["holder"]
    figures = gauges()
    for queue in ("media", "control", "default"):
        assert figures[("media_hub_worker_heartbeat_age_seconds", (("queue", queue),))] < 5
        assert figures[("media_hub_workers", (("queue", queue),))] == 1
    assert figures[("media_hub_beat_tick_age_seconds", ())] < 10

    # The media worker's machine dies (SIGKILL: no goodbye): its heartbeat goes stale within 3 beats.
    workers.procs["media"].kill()
    wait_for(lambda: "no live worker consumes the 'media' queue" in status()[1]["missing"], 20,
             lambda: f"the dead media worker to be reported: {status()[1]}")  # fmt: skip
    assert status()[0] == 503
    assert gauges()[("media_hub_worker_heartbeat_age_seconds", (("queue", "media"),))] >= 3
    # A clean stop (SIGTERM) removes the control worker's heartbeat at once.
    workers.stop("control")
    assert "no live worker consumes the 'control' queue" in status()[1]["missing"]


def test_two_beats_only_one_sends_and_the_other_takes_over_when_it_dies(
    settings: Any, procs: tuple[Workers, Beats], tmp_path: Path
) -> None:
    import redis as redis_lib

    workers, beats = procs
    redis = PrivateRedis(tmp_path)  # no worker consumes it: every message beat sends stays there to count
    redis.start()
    try:
        beats.env = {**child_env(settings), "CELERY_BROKER_URL": redis.url, "MEDIA_JOB_SWEEP_SECONDS": "1",
                     "BEAT_LEASE_SECONDS": "4"}  # fmt: skip
        first = beats.start("beat-a")
        wait_for(lambda: beats.sent("beat-a", "sweep-stale-jobs") >= 1, 60, lambda: beats.log_tail("beat-a"))
        beats.start("beat-b")
        wait_for(lambda: "another beat is active; standing by" in beats.log_tail("beat-b", 100_000), 60,
                 lambda: beats.log_tail("beat-b"))  # fmt: skip
        before = beats.sent("beat-a", "sweep-stale-jobs")
        time.sleep(6)
        assert beats.sent("beat-a", "sweep-stale-jobs") - before >= 4, "the active beat keeps sending"
        assert beats.sent("beat-b", "sweep-stale-jobs") == 0, beats.log_tail("beat-b")
        sweeps = beats.sent("beat-a", "sweep-stale-jobs")
        queued = redis_lib.Redis.from_url(redis.url).llen("control")
        assert sweeps <= queued <= sweeps + 2, (sweeps, queued)  # (+ a WebSub scan, also control work)
        lease = ProcessBeat.objects.get(name="beat")
        assert lease.holder.endswith(f":{first.pid}")

        # The active beat's machine dies: the standby takes over once the lease (4 s) runs out.
        beats.kill("beat-a")
        died = time.monotonic()
        wait_for(lambda: beats.sent("beat-b", "sweep-stale-jobs") >= 1, 30, lambda: beats.log_tail("beat-b"))
        assert time.monotonic() - died < 15
        assert "beat active" in beats.log_tail("beat-b", 100_000)
        lease.refresh_from_db()
        assert lease.holder.endswith(f":{beats.procs['beat-b'].pid}")
    finally:
        beats.stop_all()
        redis.stop()
    # A beat stopping cleanly hands the lease over at once.
    lease = ProcessBeat.objects.get(name="beat")
    assert lease.expires_at is not None and lease.expires_at <= timezone.now()


def test_control_work_runs_while_every_media_worker_is_busy(
    settings: Any, show: Show, busy_clip: Path, procs: tuple[Workers, Beats], tmp_path: Path
) -> None:
    workers, beats = procs
    broker = redis_broker_url()
    purge(broker)
    settings.MEDIA_JOB_LEASE_SECONDS = 10
    with FfmpegGate(tmp_path / "gate") as gate:
        env = {**child_env(settings), **gate.env, "CELERY_BROKER_URL": broker, "MEDIA_JOB_SWEEP_SECONDS": "1"}
        workers.env = beats.env = env
        # The transcoding fleet (here one worker) also takes light work, as the README used to recommend.
        workers.start("media", queues="media,default")
        video = video_create(show=show, title="Довге кодування", slug="long-encode")
        busy = upload(video, busy_clip)
        wait_stage(busy, {"encoding", "packaging"}, workers, "media")

        # Another job's worker died long ago: its lease ran out, so the sweeper must queue it again.
        other = video_create(show=show, title="Осиротіле", slug="orphan")
        orphan = upload(other, busy_clip)
        ProcessingJob.objects.filter(pk=orphan.pk).update(
            state=State.RUNNING, attempts=1, lease_owner="gone:1", lease_expires_at=timezone.now() - timedelta(60)
        )
        workers.start("control", queues="control")
        beats.start("beat")

        def requeued() -> bool:
            orphan.refresh_from_db()
            return orphan.state == State.QUEUED and "queued again" in orphan.error

        wait_for(requeued, 60, lambda: f"the sweeper to re-queue job {orphan.pk} ({orphan.state}):\n"
                 f"{workers.log_tail('control')}\n{beats.log_tail('beat')}")  # fmt: skip
        assert state_of(busy) == State.RUNNING, "the sweep ran while the only media worker was still busy"
        assert "episodes.sweep_stale_jobs" in workers.log_tail("control", 10**6)
