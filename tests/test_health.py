"""Health endpoints for load balancers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client


def test_live_answers_without_touching_dependencies(client: Client) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_checks_database_broker_storage_and_ffmpeg(client: Client) -> None:
    response = client.get("/health/ready")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database", "broker", "storage", "ffmpeg"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_a_broker_outage_keeps_ready_green_and_turns_status_red(client: Client, monkeypatch: Any) -> None:
    """Writes never depend on the broker (the outbox): a Redis restart must not take every web machine out of the
    load balancer, but operators must see it."""
    from media_hub import health

    def broker_down() -> None:
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    monkeypatch.setitem(health.CHECKS, "broker", broker_down)
    ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.json()
    broker = ready.json()["checks"]["broker"]
    assert broker["ok"] is False and broker["required"] is False and "refused" in broker["error"]
    status = client.get("/health/status")
    assert status.status_code == 503 and any(m.startswith("broker:") for m in status.json()["missing"])


@pytest.mark.django_db
def test_ready_reports_a_missing_ffmpeg_as_503(client: Client, settings: Any) -> None:
    settings.FFMPEG_BINARY = "/nonexistent/ffmpeg"
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["ffmpeg"]["ok"] is False


@pytest.mark.django_db
def test_a_hanging_dependency_is_reported_within_the_timeout(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from media_hub import health

    release = threading.Event()
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setitem(health.CHECKS, "storage", lambda: release.wait(10))
    started = time.monotonic()
    response = client.get("/health/ready")
    release.set()
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    storage = response.json()["checks"]["storage"]
    assert storage["ok"] is False and storage["error"] == "no answer within 0.5 s"


@pytest.mark.s3
@pytest.mark.django_db
def test_ready_fails_when_the_bucket_is_missing_and_passes_once_it_exists(client: Client, settings: Any,
                                                                          seaweedfs: Any) -> None:  # fmt: skip
    import uuid

    from tests.conftest import use_s3

    bucket = f"missing-{uuid.uuid4().hex[:10]}"
    use_s3(settings, seaweedfs, bucket)  # never created (SeaweedFS would create it on a write; AWS would not)
    response = client.get("/health/ready")
    assert response.status_code == 503, response.json()
    storage = response.json()["checks"]["storage"]
    assert storage["ok"] is False and "404" in storage["error"], storage
    assert bucket not in {b["Name"] for b in seaweedfs.client().list_buckets()["Buckets"]}, "the check wrote nothing"

    seaweedfs.create_bucket(bucket)
    response = client.get("/health/ready")
    assert response.status_code == 200, response.json()
    # The write probe was deleted again.
    assert seaweedfs.client().list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


@pytest.mark.django_db
def test_status_names_missing_workers_and_beat_and_is_ok_when_they_beat(client: Client, settings: Any) -> None:
    import os
    import socket

    from episodes.services.liveness import beat_lease, worker_heartbeat

    response = client.get("/health/status")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "degraded"
    assert set(body["missing"]) >= {f"no live worker consumes the '{q}' queue" for q in ("media", "control", "default")}
    assert body["beat"] == {"holder": "", "last_tick_age_s": None}

    worker_heartbeat(name="media@host", queues=["media"], holder="host:1")
    worker_heartbeat(name="control@host", queues=["control", "default"], holder="host:2")
    assert beat_lease(holder=f"{socket.gethostname()}:{os.getpid()}")
    response = client.get("/health/status")
    body = response.json()
    assert response.status_code == 200 and body["missing"] == [], body
    assert body["workers"]["default"]["live"] == 1 and body["workers"]["media"]["newest_heartbeat_age_s"] < 5

    # Heartbeats older than three beats count as missing.
    from episodes.models import ProcessBeat

    old = ProcessBeat.objects.get(name="media@host").seen_at - 4 * timedelta(seconds=settings.PROCESS_HEARTBEAT_SECONDS)
    ProcessBeat.objects.filter(name="media@host").update(seen_at=old)
    assert client.get("/health/status").json()["missing"] == ["no live worker consumes the 'media' queue"]


@pytest.mark.django_db
def test_one_beat_lease_at_a_time(settings: Any) -> None:
    from django.utils import timezone

    from episodes.services.liveness import beat_lease, beat_release

    now = timezone.now()
    assert beat_lease(holder="a:1", now=now)
    assert not beat_lease(holder="b:2", now=now + timedelta(seconds=settings.BEAT_LEASE_SECONDS - 1))
    assert beat_lease(holder="a:1", now=now + timedelta(seconds=10))  # renewing
    later = now + timedelta(seconds=10 + settings.BEAT_LEASE_SECONDS + 1)
    assert beat_lease(holder="b:2", now=later)  # a stopped renewing: b takes over
    assert not beat_lease(holder="a:1", now=later)
    beat_release(holder="b:2")
    assert beat_lease(holder="a:1")  # handed over at once
