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
