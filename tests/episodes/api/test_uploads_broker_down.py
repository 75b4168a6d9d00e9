"""Defect #12.1: the broker is down when an upload completes. The committed job row is the outbox: ``complete``
succeeds, the source stays in storage, and the sweeper sends the job once Redis is back (a real, private
redis-server stopped and started; the shared one is never touched)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from episodes.models import MediaSource, ProcessingJob
from episodes.services import processing
from episodes.services.uploads import media_reprocess
from tests.episodes.api.test_uploads import PART, part_of, put, sha, start
from tests.stack.procs import PrivateRedis, producer_on

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def small_parts(settings: Any) -> None:
    settings.UPLOAD_PART_MIN_BYTES = PART
    settings.UPLOAD_PART_MAX_BYTES = 4 * PART
    settings.MEDIA_MAX_UPLOAD_BYTES = 64 * PART


@pytest.fixture
def stopped_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    server.stop()  # the broker this process sends to is down
    with producer_on(server.url):
        yield server
    server.stop()


def test_complete_succeeds_with_the_broker_down_and_the_sweeper_sends_the_job_when_it_is_back(
    api: Any, tokens: dict[str, str], episode: Any, media_storage: Path, stopped_redis: PrivateRedis
) -> None:
    import redis

    payload = os.urandom(2 * PART + 10)
    a = api(tokens["a"])
    session = start(a, episode, payload, sha256=sha(payload))
    for n in (1, 2, 3):
        assert put(a, session["id"], n, part_of(payload, n)).status_code == 200

    done = a.send("POST", f"/uploads/{session['id']}/complete", {})
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "completed"
    again = a.send("POST", f"/uploads/{session['id']}/complete", {})  # a client retrying is fine too
    assert again.status_code == 200 and again.json()["source_id"] == done.json()["source_id"]
    source = MediaSource.objects.get(pk=done.json()["source_id"])
    assert (media_storage / source.storage_key).read_bytes() == payload, "the upload is kept"
    job = ProcessingJob.objects.get(source=source)
    assert job.state == ProcessingJob.State.QUEUED and job.sent_at is None

    # Re-processing with the broker down is accepted too (the queued job is the answer).
    assert media_reprocess(owner=episode).pk == job.pk
    # A sweep while Redis is still down sends nothing and does not fail.
    later = timezone.now() + timedelta(seconds=6)
    assert processing.jobs_sweep(now=later) == []

    stopped_redis.start()
    client = redis.Redis.from_url(stopped_redis.url)
    assert client.llen("media") == 0
    # The next sweep (within one sweep interval, not after MEDIA_JOB_RESEND_SECONDS) sends it.
    assert processing.jobs_sweep(now=later) == [job.pk]
    assert client.llen("media") == 1
    job.refresh_from_db()
    assert job.state == ProcessingJob.State.QUEUED and job.sent_at is not None
    # Sent once: the following sweep leaves it alone until the resend delay.
    assert processing.jobs_sweep(now=later) == []
    assert (media_storage / source.storage_key).exists()
