"""Health endpoints for load balancers."""

from __future__ import annotations

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
