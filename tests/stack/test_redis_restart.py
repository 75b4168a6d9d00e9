"""Redis restarted while a production-shaped worker (prefork, gossip, mingle, heartbeats) runs a job: the same
worker process finishes the job, reconnects, and takes the next job (celery 5.7 / kombu 5.7 used to exit with
``AttributeError: 'NoneType' object has no attribute 'hostname'``; see media_hub/broker_fix.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from episodes.models import ProcessingJob, Show, Status
from episodes.services.content import video_create
from tests.conftest import child_env
from tests.stack.procs import FfmpegGate, PrivateRedis, Workers, producer_on, wait_for
from tests.stack.test_faults import clip, state_of, upload, wait_final, wait_stage

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
State = ProcessingJob.State


@pytest.fixture(scope="module")
def busy_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clip(tmp_path_factory.mktemp("clips") / "busy.mp4", "960x540", 4)


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clip(tmp_path_factory.mktemp("clips") / "small.mp4", "320x180", 2)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("down_s", [0.0, 2.0], ids=["restart", "down-while-job-ends"])
def test_prefork_worker_rides_out_a_redis_restart_mid_job(
    down_s: float, settings: Any, show: Show, busy_clip: Path, small_clip: Path, redis: PrivateRedis, tmp_path: Path
) -> None:
    settings.MEDIA_JOB_LEASE_SECONDS = 10
    with FfmpegGate(tmp_path / "gate") as gate, producer_on(redis.url):
        workers = Workers({**child_env(settings), **gate.env, "CELERY_BROKER_URL": redis.url}, tmp_path)
        try:
            proc = workers.start("w", concurrency=2)
            video = video_create(show=show, title="Перезапуск Redis", slug="redis-restart")
            busy = upload(video, busy_clip)
            wait_stage(busy, {"encoding", "packaging"}, workers, "w")

            # Redis restarts mid-encode (empty: no persistence), or goes away and stays away while the job ends
            # (its acknowledgement has nowhere to go) and comes back after.
            redis.stop()
            if not down_s:
                redis.start()
            assert state_of(busy) == State.RUNNING, "Redis went away mid-encode"
            gate.open()
            wait_final(busy, workers, "w")
            if down_s:
                time.sleep(down_s)
                redis.start()
            assert busy.state == State.SUCCEEDED, (busy.error, busy.error_detail)

            # The same process reconnects and takes the next job (sent after the restart; no sweeper involved).
            after = video_create(show=show, title="Наступне", slug="next")
            wait_for(lambda: proc.poll() is None and _consuming(redis), 60,
                     lambda: f"the worker to consume again:\n{workers.log_tail('w')}")  # fmt: skip
            nxt = upload(after, small_clip)
            wait_final(nxt, workers, "w", timeout=90)
            assert nxt.state == State.SUCCEEDED, (nxt.error, nxt.error_detail)
            after.refresh_from_db()
            assert after.status == Status.READY
            assert proc.poll() is None, f"the worker is still running:\n{workers.log_tail('w')}"
        finally:
            workers.stop_all()
    log = workers.log_tail("w", 200_000)
    assert "Unrecoverable error" not in log, log[-3000:]


def _consuming(redis: PrivateRedis) -> bool:
    """The worker has a connection that is blocked reading a queue again (BRPOP)."""
    import redis as redis_lib

    clients = redis_lib.Redis.from_url(redis.url).client_list()
    return any(c.get("cmd") == "brpop" for c in clients)
