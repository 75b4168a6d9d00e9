"""WebSub: publishing pings a real local hub after the commit, once per change; the scan announces scheduled
episodes at their time and resends failed or lost pings with back-off."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from episodes.models import Episode, EpisodePerson, Person
from episodes.services.content import episode_unpublish, episode_update
from feeds.models import WebSubCursor, WebSubPing
from feeds.tasks import websub_ping, websub_scan_task
from feeds.websub import LEASE, MAX_ATTEMPTS, SETTLE, WebSubError, retry_delay, websub_publish, websub_scan
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


def published(show: Any, n: int, capture: Any, **fields: Any) -> Episode:
    """Publish an episode and run what its transaction queued for after the commit (the ping)."""
    with capture(execute=True):
        return live_episode(show, n, **fields)


def ping_row(show: Any) -> WebSubPing:
    return WebSubPing.objects.get(show=show)


def caught_up() -> datetime:
    """A scan time whose window reaches up to this moment (the scan leaves the last SETTLE seconds for later)."""
    return timezone.now() + SETTLE


def scan_and_send(now: datetime) -> list[int]:
    """What the beat task does, at a chosen time."""
    show_ids = websub_scan(now=now)
    for show_id in show_ids:
        websub_ping.apply(args=(show_id,))
    return show_ids


@pytest.mark.django_db
def test_publishing_pings_right_after_the_commit(hub: Hub, show: Any, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        live_episode(show, 1)
    assert hub.pings == [] and len(callbacks) == 1  # nothing before the commit
    for callback in callbacks:
        callback()
    assert hub.pings == [{"hub.mode": ["publish"], "hub.url": [FEED]}]
    row = ping_row(show)
    assert not row.pending and row.announced_at is not None and row.attempts == 0


@pytest.mark.django_db
def test_the_scan_does_not_ping_again_for_the_same_change(
    hub: Hub, show: Any, django_capture_on_commit_callbacks: Any
) -> None:
    WebSubCursor.objects.create(name="websub", scanned_until=timezone.now() - timedelta(minutes=1))
    published(show, 1, django_capture_on_commit_callbacks)
    assert len(hub.pings) == 1
    assert scan_and_send(caught_up()) == [show.pk]  # the scan sees the episode go live and asks again...
    assert len(hub.pings) == 1  # ...but that feed was announced already
    assert scan_and_send(caught_up()) == []
    with django_capture_on_commit_callbacks(execute=True):
        episode_update(episode=Episode.objects.get(show=show), title="Corrected title")
    assert len(hub.pings) == 2  # an edit of a live episode is announced at once, not by the next scan
    assert scan_and_send(caught_up()) == [show.pk]  # the scan sees the edit too...
    assert len(hub.pings) == 2  # ...and finds it announced


@pytest.mark.django_db
def test_edits_of_the_show_and_of_live_items_ping_at_once_drafts_do_not(
    hub: Hub, show: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from episodes.services.content import show_update

    episode = published(show, 1, django_capture_on_commit_callbacks)
    draft = Episode.objects.create(show=show, title="Draft", slug="draft")
    with django_capture_on_commit_callbacks(execute=True):
        episode_update(episode=draft, title="Still a draft")
    assert len(hub.pings) == 1  # a draft is not in the feed
    with django_capture_on_commit_callbacks(execute=True):
        show_update(show=show, title="Ukraine Insights, weekly")
    assert len(hub.pings) == 2
    with django_capture_on_commit_callbacks(execute=True):
        episode_update(episode=episode, title="Renamed")
    assert len(hub.pings) == 3


@pytest.mark.django_db
def test_a_failed_ping_queues_its_retry_for_its_time(
    hub: Hub, show: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retries land when the README says (1, 2, 4 … min), not at the next once-a-minute scan after that."""
    from media_hub.celery import app

    queued: list[tuple[int, timedelta | None]] = []
    monkeypatch.setattr("feeds.websub._send", lambda show_id, after=None: queued.append((show_id, after)))
    hub.failures = 2
    app.conf.task_always_eager = False
    try:
        published(show, 1, django_capture_on_commit_callbacks)  # queues the first ping (recorded, not run)
        assert websub_ping.apply(args=(show.pk,)).get() is None  # it fails: the hub answers 503
        assert websub_ping.apply(args=(show.pk,)).get() is None  # the retry fails too
    finally:
        app.conf.task_always_eager = True
    assert queued == [(show.pk, None), (show.pk, retry_delay(1)), (show.pk, retry_delay(2))]
    assert retry_delay(1) == timedelta(minutes=1) and retry_delay(2) == timedelta(minutes=2)


@pytest.mark.django_db
def test_scheduled_episode_is_announced_when_its_time_comes(
    hub: Hub, show: Any, django_capture_on_commit_callbacks: Any
) -> None:
    start = timezone.now()
    WebSubCursor.objects.create(name="websub", scanned_until=start)
    published(show, 1, django_capture_on_commit_callbacks, publish_at=start + timedelta(minutes=10))
    assert hub.pings == []  # not yet visible: nothing to announce
    assert scan_and_send(start + timedelta(minutes=5)) == []
    assert scan_and_send(start + timedelta(minutes=11)) == [show.pk]
    assert scan_and_send(start + timedelta(minutes=12)) == []
    assert len(hub.pings) == 1


@pytest.mark.django_db
def test_unpublishing_pings_too(hub: Hub, show: Any, django_capture_on_commit_callbacks: Any) -> None:
    episode = published(show, 1, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        episode_unpublish(episode=episode)
    assert len(hub.pings) == 2


@pytest.mark.django_db
def test_a_failed_ping_is_retried_by_the_scan_with_back_off(
    hub: Hub, show: Any, django_capture_on_commit_callbacks: Any
) -> None:
    hub.failures = 2
    published(show, 1, django_capture_on_commit_callbacks)
    row = ping_row(show)
    assert len(hub.pings) == 1 and row.attempts == 1 and "503" in row.last_error and row.pending
    assert row.due_at is not None
    first_retry = row.due_at
    assert scan_and_send(first_retry - timedelta(seconds=1)) == []
    assert scan_and_send(first_retry) == [show.pk]
    row = ping_row(show)
    assert len(hub.pings) == 2 and row.attempts == 2 and row.due_at is not None
    assert row.due_at - timezone.now() > retry_delay(1)  # backing off
    assert scan_and_send(row.due_at) == [show.pk]
    row = ping_row(show)
    assert len(hub.pings) == 3 and row.attempts == 0 and not row.pending and row.last_error == ""
    assert all(p["hub.url"] == [FEED] for p in hub.pings)


@pytest.mark.django_db
def test_the_scan_gives_up_after_max_attempts_until_the_feed_changes(
    hub: Hub, show: Any, django_capture_on_commit_callbacks: Any
) -> None:
    hub.failures = 1000
    published(show, 1, django_capture_on_commit_callbacks)
    for _ in range(MAX_ATTEMPTS + 3):
        due = ping_row(show).due_at
        assert due is not None
        scan_and_send(due)
    assert len(hub.pings) == MAX_ATTEMPTS and ping_row(show).attempts == MAX_ATTEMPTS
    hub.failures = 0
    published(show, 2, django_capture_on_commit_callbacks)
    assert len(hub.pings) == MAX_ATTEMPTS + 1 and not ping_row(show).pending


@pytest.mark.django_db
def test_a_lost_message_is_resent_by_the_scan(
    hub: Hub, show: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(websub_ping, "apply_async", broker_down)
    episode = published(show, 1, django_capture_on_commit_callbacks)  # publishing still works
    assert Episode.objects.get(pk=episode.pk).status == "published" and hub.pings == []
    monkeypatch.undo()
    soon = timezone.now() + timedelta(minutes=1)
    assert scan_and_send(soon) == []  # the queued ping may still be on its way
    assert scan_and_send(soon + LEASE) == [show.pk]
    assert len(hub.pings) == 1


@pytest.mark.django_db
def test_one_ping_at_a_time_per_show(hub: Hub, show: Any, django_capture_on_commit_callbacks: Any) -> None:
    published(show, 1, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):
        live_episode(show, 2)  # a second change, its ping queued
    WebSubPing.objects.filter(show=show).update(running_until=timezone.now() + timedelta(minutes=1))
    assert websub_ping.apply(args=(show.pk,)).get() is None  # another worker is pinging this show
    assert len(hub.pings) == 1
    WebSubPing.objects.filter(show=show).update(running_until=None)
    assert websub_ping.apply(args=(show.pk,)).get() == 204
    assert len(hub.pings) == 2


@pytest.mark.django_db
def test_the_scan_sees_edits_of_people(hub: Hub, show: Any, django_capture_on_commit_callbacks: Any) -> None:
    episode = published(show, 1, django_capture_on_commit_callbacks)
    WebSubCursor.objects.create(name="websub", scanned_until=timezone.now())
    guest = Person.objects.create(name="Guest")
    EpisodePerson.objects.create(episode=episode, person=guest)
    assert scan_and_send(caught_up()) == [show.pk]
    guest.name = "Guest, renamed"
    guest.save()
    assert scan_and_send(caught_up()) == [show.pk]
    assert len(hub.pings) == 3


@pytest.mark.django_db
def test_no_hub_no_ping(settings: Any, show: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.WEBSUB_HUB_URL = ""
    published(show, 1, django_capture_on_commit_callbacks)
    assert not WebSubPing.objects.exists()
    assert websub_ping.apply(args=(show.pk,)).get() is None
    assert websub_scan_task.apply().get() == []


@pytest.mark.django_db
def test_the_beat_task_sends_due_pings(hub: Hub, show: Any, settings: Any) -> None:
    WebSubCursor.objects.create(name="websub", scanned_until=timezone.now() - timedelta(minutes=1))
    settings.WEBSUB_HUB_URL = ""
    live_episode(show, 1, publish_at=timezone.now() - timedelta(seconds=30))  # published before a hub was set
    settings.WEBSUB_HUB_URL = hub.url
    assert websub_scan_task.apply().get() == [show.pk]
    assert hub.pings == [{"hub.mode": ["publish"], "hub.url": [FEED]}]


@pytest.mark.django_db
def test_the_scan_sees_changes_no_timestamp_shows(hub: Hub, show: Any, django_capture_on_commit_callbacks: Any) -> None:
    """Re-processed media, a new transcript and a deleted episode change the feed without an edit to any row the
    time window looks at: the scan compares the feed's fingerprint with the one announced."""
    from tests.feeds.factories import add_rendition, add_transcript

    first = published(show, 1, django_capture_on_commit_callbacks)
    second = published(show, 2, django_capture_on_commit_callbacks)
    WebSubCursor.objects.create(name="websub", scanned_until=timezone.now())
    assert scan_and_send(caught_up()) == [] and len(hub.pings) == 2
    add_rendition(first, "audio_mp3", run="run2", content=b"\xff\xfb" * 5000)
    assert scan_and_send(caught_up()) == [show.pk] and len(hub.pings) == 3
    add_transcript(first, "vtt")
    assert scan_and_send(caught_up()) == [show.pk] and len(hub.pings) == 4
    second.delete()
    assert scan_and_send(caught_up()) == [show.pk] and len(hub.pings) == 5
    assert scan_and_send(caught_up()) == [] and len(hub.pings) == 5
