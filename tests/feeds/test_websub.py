"""WebSub: the ping reaches a real local hub, is retried when the hub fails, and scheduled episodes trigger it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from episodes.models import Episode
from feeds.models import WebSubCursor
from feeds.tasks import websub_ping, websub_scan_task
from feeds.websub import WebSubError, websub_publish, websub_scan
from tests.feeds.factories import live_episode

FEED = "http://127.0.0.1:8000/feeds/ukraine-insights.xml"


class Hub:
    """A tiny hub on 127.0.0.1 that records publish pings and fails the first ``failures`` of them."""

    def __init__(self) -> None:
        self.pings: list[dict[str, list[str]]] = []
        self.failures = 0
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                hub.pings.append(form)
                failing = hub.failures > 0
                hub.failures -= 1
                self.send_response(503 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub(settings: Any) -> Iterator[Hub]:
    server = Hub()
    settings.WEBSUB_HUB_URL = server.url
    yield server
    server.close()


def test_publish_posts_mode_and_url(hub: Hub) -> None:
    assert websub_publish(feed_url=FEED) == 204
    assert hub.pings == [{"hub.mode": ["publish"], "hub.url": [FEED]}]


def test_publish_raises_on_hub_errors(hub: Hub) -> None:
    hub.failures = 1
    with pytest.raises(WebSubError, match="503"):
        websub_publish(feed_url=FEED)
    with pytest.raises(WebSubError, match="could not be reached"):
        websub_publish(feed_url=FEED, hub_url="http://127.0.0.1:9/")
    with pytest.raises(WebSubError):
        websub_publish(feed_url=FEED, hub_url="file:///etc/passwd")


@pytest.mark.django_db
def test_ping_task_retries_until_the_hub_accepts(hub: Hub, show: Any) -> None:
    hub.failures = 2
    result = websub_ping.apply(args=(show.pk,))
    assert result.successful(), result.traceback
    assert len(hub.pings) == 3 and all(p["hub.url"] == [FEED] for p in hub.pings)


@pytest.mark.django_db
def test_ping_task_gives_up_after_max_retries(hub: Hub, show: Any) -> None:
    hub.failures = 100
    result = websub_ping.apply(args=(show.pk,))
    assert result.failed()
    assert len(hub.pings) == (websub_ping.max_retries or 0) + 1


@pytest.mark.django_db
def test_scan_finds_a_scheduled_episode_when_its_time_passes(show: Any) -> None:
    start = timezone.now()
    WebSubCursor.objects.create(name="websub", scanned_until=start)
    episode = live_episode(show, 1, publish_at=start + timedelta(minutes=10))
    # Scheduling happened before the cursor: pretend the row was last written then.
    Episode.objects.filter(pk=episode.pk).update(updated_at=start - timedelta(minutes=1))
    assert websub_scan(now=start + timedelta(minutes=5)) == []
    assert websub_scan(now=start + timedelta(minutes=11)) == [show.pk]
    assert websub_scan(now=start + timedelta(minutes=12)) == []


@pytest.mark.django_db
def test_scan_task_pings_the_hub_for_changed_shows(hub: Hub, show: Any) -> None:
    WebSubCursor.objects.create(name="websub", scanned_until=timezone.now() - timedelta(minutes=1))
    live_episode(show, 1, publish_at=timezone.now() - timedelta(seconds=30))
    assert websub_scan_task.apply().get() == [show.pk]
    assert hub.pings == [{"hub.mode": ["publish"], "hub.url": [FEED]}]


@pytest.mark.django_db
def test_no_hub_no_ping(settings: Any, show: Any) -> None:
    settings.WEBSUB_HUB_URL = ""
    assert websub_ping.apply(args=(show.pk,)).get() is None
    assert websub_scan_task.apply().get() == []
