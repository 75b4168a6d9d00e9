"""Play events from players: one view per viewer (salted IP + User-Agent), item and UTC day; never a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client, RequestFactory

from episodes.embeds.events import PlayEvent, view_count, view_record
from episodes.models import EmbedView, Episode, Video

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def post(client: Client, body: Any, *, ip: str = "198.51.100.7", ua: str = BROWSER, raw: bool = False) -> Any:
    data = body if raw else json.dumps(body)
    # sendBeacon sends a string as text/plain (no CORS preflight); the endpoint reads the body either way.
    return client.post("/embed/events", data, content_type="text/plain;charset=UTF-8", REMOTE_ADDR=ip,
                       HTTP_USER_AGENT=ua)  # fmt: skip


def test_a_viewer_counts_once_per_day(client: Client, live_video: Video, live_episode: Episode) -> None:
    play = {"kind": "video", "id": live_video.pk, "event": "play"}
    assert post(client, play).status_code == 204
    assert post(client, play).status_code == 204  # plays again, reloads: still one view
    assert view_count(video=live_video) == 1
    post(client, play, ip="198.51.100.8")  # another viewer
    post(client, play, ua=BROWSER.replace("126", "127"))  # another browser on the same address
    assert view_count(video=live_video) == 3
    post(client, {"kind": "episode", "id": live_episode.pk})
    assert view_count(episode=live_episode) == 1 and view_count(video=live_video) == 3
    row = EmbedView.objects.filter(video=live_video).first()
    assert row is not None and "198.51.100" not in row.viewer and len(row.viewer) == 32
    assert row.show_id == live_video.show_id and row.target == f"v:{live_video.pk}"


def test_the_next_utc_day_counts_again(rf: RequestFactory, live_video: Video) -> None:
    request = rf.post("/embed/events", REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT=BROWSER)
    event = PlayEvent("video", live_video.pk)
    late = datetime(2025, 3, 1, 23, 59, tzinfo=UTC)
    assert view_record(request, event=event, when=late) is True
    assert view_record(request, event=event, when=late + timedelta(seconds=30)) is False
    assert view_record(request, event=event, when=late + timedelta(minutes=2)) is True  # 00:01 the next day
    assert sorted(str(d) for d in EmbedView.objects.values_list("day", flat=True)) == ["2025-03-01", "2025-03-02"]


def test_bots_are_not_counted(client: Client, live_video: Video) -> None:
    for ua in ("Mozilla/5.0 (compatible; Googlebot/2.1)", "HeadlessChrome/126.0", "curl/8.0"):
        assert post(client, {"kind": "video", "id": live_video.pk}, ua=ua).status_code == 204
    assert view_count(video=live_video) == 0


@pytest.mark.parametrize(
    "body",
    ["", "not json", "[]", '{"kind": "show", "id": 1}', '{"kind": "video", "id": -1}', '{"kind": "video", "id": 0}',
     '{"kind": "video", "id": 1e30}', '{"kind": "video", "id": "99999999999999999999"}', '{"kind": "video"}',
     '{"kind": "video", "id": true}', '{"kind": "video", "id": 1, "event": "pause"}', "\xff\xfe",
     '{"kind": "video", "id": 1, "pad": "' + "x" * 600 + '"}'],
)  # fmt: skip
def test_malformed_events_are_400(client: Client, db: None, body: str) -> None:
    response = post(client, body, raw=True)
    assert response.status_code == 400 and "error" in response.json()
    assert not EmbedView.objects.exists()


def test_unknown_ids_are_404_and_other_methods_405(client: Client, db: None) -> None:
    assert post(client, {"kind": "video", "id": 10**17}).status_code == 404
    assert client.get("/embed/events").status_code == 405


def test_no_csrf_token_or_cookie_is_needed(live_video: Video) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/embed/events", json.dumps({"kind": "video", "id": live_video.pk}),
                           content_type="text/plain", HTTP_USER_AGENT=BROWSER,
                           HTTP_ORIGIN="https://news.example")  # fmt: skip
    assert response.status_code == 204 and view_count(video=live_video) == 1
    assert "Set-Cookie" not in response.headers


def test_a_storage_failure_is_not_a_500(client: Client, live_video: Video, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(EmbedView.objects, "get_or_create", broken)
    assert post(client, {"kind": "video", "id": live_video.pk}).status_code == 204
