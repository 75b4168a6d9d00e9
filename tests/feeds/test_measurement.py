"""IAB v2.2 counting details (#18): distinct bytes, bytes actually sent, the hit sender, the OPAWG list refresh."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory

from episodes.models import Rendition
from feeds import hit_sender, user_agents
from feeds.analytics import DownloadHit
from feeds.byte_ranges import MAX_RANGES, add_range, covered
from feeds.models import DailyDownloads, ListenerWindow
from tests.conftest import wsgi_keeps_test_connection
from tests.feeds.factories import MP3_BYTES, live_episode
from tests.feeds.test_delivery import live_episode_without_files, s3_mode  # noqa: F401 - s3_mode is a fixture

pytestmark = pytest.mark.django_db

OVERCAST = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"


def downloads() -> int:
    return sum(DailyDownloads.objects.values_list("downloads", flat=True))


def get(client: Client, url: str, **headers: str) -> int:
    extra: dict[str, Any] = {"HTTP_USER_AGENT": OVERCAST, "REMOTE_ADDR": "198.51.100.7", **headers}
    response: Any = client.get(url, **extra)
    if response.streaming:
        b"".join(response.streaming_content)
    return int(response.status_code)


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        ([(0, 99)], [[0, 99]]),
        ([(0, 99), (50, 199)], [[0, 199]]),
        ([(0, 99), (100, 199)], [[0, 199]]),  # adjacent pieces merge
        ([(200, 299), (0, 99)], [[0, 99], [200, 299]]),
        ([(0, 99), (200, 299), (90, 210)], [[0, 299]]),  # one piece bridges two
        ([(0, 99)] * 12, [[0, 99]]),
        ([(10, 5)], []),  # empty
    ],
)
def test_add_range_merges(pieces: list[tuple[int, int]], expected: list[list[int]]) -> None:
    ranges: list[list[int]] = []
    for start, end in pieces:
        ranges = add_range(ranges, start, end)
    assert ranges == expected and covered(ranges) == sum(hi - lo + 1 for lo, hi in expected)


def test_add_range_is_bounded_and_only_ever_under_counts() -> None:
    ranges: list[list[int]] = []
    for n in range(MAX_RANGES + 10):
        ranges = add_range(ranges, n * 10, n * 10 + 4)  # disjoint five-byte pieces
    assert len(ranges) == MAX_RANGES and covered(ranges) == MAX_RANGES * 5
    assert covered(add_range(ranges, 0, 10_000)) == 10_001  # a piece that merges is still taken


@pytest.fixture
def hour_long(show: Any) -> str:
    """An episode whose MP3 row describes an hour at 128 kbit/s: a minute is 960,000 bytes."""
    episode = live_episode(show, 1)
    Rendition.objects.filter(episode=episode).update(duration=3600.0, byte_size=57_600_000)
    return f"/d/e/{episode.pk}/audio_mp3.mp3"


def test_the_same_bytes_fetched_twelve_times_are_not_a_download(client: Client, show: Any) -> None:
    """The issue's case: a player re-reading the first 100 KB (about 6 s) twelve times is not a listen."""
    episode = live_episode(show, 1)
    # A 10 s file: the threshold is the whole file (160,000 bytes); twelve 16,000-byte reads of its start add up to
    # 192,000 requested bytes, which the old sum counted.
    url = f"/d/e/{episode.pk}/audio_mp3.mp3"
    for _ in range(12):
        assert get(client, url, HTTP_RANGE="bytes=0-15999") == 206
    assert downloads() == 0
    window = ListenerWindow.objects.get()
    assert window.bytes_fetched == 16_000
    assert get(client, url, HTTP_RANGE="bytes=16000-") == 206  # the rest of the file: now it is a download
    assert downloads() == 1


def test_ranges_of_different_renditions_do_not_add_up(client: Client, show: Any) -> None:
    from tests.feeds.factories import add_rendition

    episode = live_episode(show, 1)
    add_rendition(episode, "audio_aac", content=bytes(MP3_BYTES), bitrate=128_000)
    half = MP3_BYTES // 2
    get(client, f"/d/e/{episode.pk}/audio_mp3.mp3", HTTP_RANGE=f"bytes=0-{half}")
    get(client, f"/d/e/{episode.pk}/audio_aac.m4a", HTTP_RANGE=f"bytes={half}-")
    assert downloads() == 0  # half of one file and half of another are not one whole file


def wsgi_get(url: str, *, chunks: int | None, **headers: str) -> int:
    """GET ``url`` through Django's WSGI handler like a server would; stop after writing ``chunks`` body chunks
    (None: the whole body), then close the response as a server does when the client has gone."""
    extra: dict[str, Any] = {"HTTP_USER_AGENT": OVERCAST, "REMOTE_ADDR": "198.51.100.7", **headers}
    environ = RequestFactory().get(url, **extra).environ
    status: list[str] = []

    def start_response(line: str, headers: Any, exc_info: Any = None) -> Any:
        status.append(line)
        return lambda data: None

    result: Any = WSGIHandler()(environ, start_response)
    written = 0
    try:
        for n, chunk in enumerate(result):
            if chunks is not None and n == chunks:
                break  # this chunk's write failed: the client is gone
            written += len(chunk)
    finally:
        result.close()
    assert status and status[0][:3] in {"200", "206"}
    return written


def test_a_dropped_connection_counts_only_the_bytes_written(show: Any) -> None:
    """A client that leaves after the first 64 KiB chunk of a full GET fetched 64 KiB, not the file."""
    episode = live_episode(show, 1)
    url = f"/d/e/{episode.pk}/audio_mp3.mp3"
    with wsgi_keeps_test_connection():
        assert wsgi_get(url, chunks=1) == 65_536
        assert downloads() == 0
        assert ListenerWindow.objects.get().bytes_fetched == 65_536
        # The same listener comes back for the rest with a range: the bytes add up to the whole file.
        assert wsgi_get(url, chunks=None, HTTP_RANGE="bytes=65536-") == MP3_BYTES - 65_536
    assert downloads() == 1


def test_a_connection_dropped_before_any_byte_adds_nothing(show: Any) -> None:
    episode = live_episode(show, 1)
    with wsgi_keeps_test_connection():
        assert wsgi_get(f"/d/e/{episode.pk}/audio_mp3.mp3", chunks=0) == 0
    assert ListenerWindow.objects.count() == 0 and downloads() == 0


def sample_hit(n: int) -> DownloadHit:
    return DownloadHit(at="2026-03-01T00:00:00+00:00", listener=f"l{n}", previous_listener="p", target="e:1",
                       show_id=1, episode_id=1, video_id=None, app="Overcast", platform="iOS", rendition_id=1,
                       start=0, end=99, threshold=100)  # fmt: skip


@pytest.fixture
def not_eager() -> Iterator[None]:
    """Celery as in production (the feeds tests run tasks eagerly otherwise)."""
    from media_hub.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


@pytest.mark.usefixtures("not_eager")
def test_hit_sender_keeps_hits_while_the_broker_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Off the request path, and a broker blink loses nothing: hits wait in the buffer and go out later."""
    sent: list[list[dict[str, Any]]] = []
    broker_up = False

    def send(batch: list[dict[str, Any]]) -> None:
        if not broker_up:
            raise ConnectionError("Redis is restarting")
        sent.append(batch)

    sender = hit_sender.HitSender()
    monkeypatch.setattr(sender, "_send", send)
    monkeypatch.setattr(sender, "_start_thread", lambda: None)  # flushed by hand below
    for n in range(hit_sender.BATCH + 5):
        sender.submit(sample_hit(n))
    assert sender.flush() == 0 and sender.pending() == hit_sender.BATCH + 5
    broker_up = True
    assert sender.flush() == hit_sender.BATCH + 5 and sender.pending() == 0
    assert [len(batch) for batch in sent] == [hit_sender.BATCH, 5]
    assert [hit["listener"] for batch in sent for hit in batch][:3] == ["l0", "l1", "l2"]  # order kept


@pytest.mark.usefixtures("not_eager")
def test_hit_sender_thread_sends_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    got = threading.Event()
    batches: list[int] = []

    def send(batch: list[dict[str, Any]]) -> None:
        batches.append(len(batch))
        got.set()

    sender = hit_sender.HitSender()
    monkeypatch.setattr(sender, "_send", send)
    sender.submit(sample_hit(1))
    assert got.wait(5), "the sender thread did not send within 5 s"
    assert batches == [1]


def test_hits_from_an_older_release_are_ignored_not_crashed() -> None:
    from feeds.tasks import record_downloads

    assert record_downloads([{"at": "2026-03-01T00:00:00+00:00", "bytes": 10}]) == 0


# --- the OPAWG list: refresh from a folder or URL, checked before use -------------------------------------------
def v2_list(folder: Path, *, app_pattern: str = "^TestCaster/", example: str = "TestCaster/1.0") -> Path:
    """A tiny list in OPAWG user-agents-v2's shape (our own entries, not OPAWG's data)."""
    src = folder / "src"
    src.mkdir(parents=True)
    files = {
        "bots": [{"name": "Test Robot", "pattern": "TestRobot", "examples": ["TestRobot/2"]}],
        "apps": [{"name": "Test Caster", "pattern": app_pattern, "examples": [example]}],
        "libraries": [{"name": "TestLib", "pattern": "^TestLib/"}],
        "browsers": [{"name": "Test Browser", "pattern": "TestBrowser/"}],
        "devices": [{"name": "Test Phone", "category": "mobile", "pattern": r"\(TestPhone\)"}],
    }
    for name, entries in files.items():
        (src / f"{name}.json").write_text(json.dumps({"entries": entries}), encoding="utf-8")
    (folder / "LICENSE").write_text("MIT License (test list)\n", encoding="utf-8")
    return src


@pytest.fixture
def ua_dir(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.USER_AGENTS_DIR = tmp_path / "installed"
    user_agents.reset()
    yield settings.USER_AGENTS_DIR
    user_agents.reset()


@pytest.fixture
def list_server(tmp_path: Path) -> Iterator[str]:
    """A local HTTP server publishing a v2 list, as GitHub's raw files would."""
    root = tmp_path / "served"
    v2_list(root)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/src/"
    server.shutdown()


def test_refresh_from_a_url_installs_the_list_and_classification_follows(ua_dir: Path, list_server: str) -> None:
    assert user_agents.classify("TestCaster/1.0 (TestPhone)").name == "Other"  # the packaged v1 list
    call_command("refresh_user_agents", source=list_server)
    assert (ua_dir / "apps.json").exists() and (ua_dir / "LICENSE").read_text().startswith("MIT")
    agent = user_agents.classify("TestCaster/1.0 (TestPhone)")
    assert (agent.kind, agent.name, agent.platform) == ("app", "Test Caster", "Test Phone")
    assert user_agents.classify("TestRobot/2").bot
    assert user_agents.classify("TestLib/3").kind == "library"  # a player library still counts
    assert user_agents.is_bot("python-httpx/0.27.0")  # our additions still apply over the new list


@pytest.mark.parametrize(
    ("pattern", "example", "reason"),
    [("^TestCaster(/", "TestCaster/1.0", "does not compile"), ("^Other/", "TestCaster/1.0", "matches nothing")],
)
def test_refresh_refuses_a_broken_list_and_keeps_the_old_one(
    ua_dir: Path, tmp_path: Path, list_server: str, pattern: str, example: str, reason: str
) -> None:
    call_command("refresh_user_agents", source=list_server)
    broken = v2_list(tmp_path / "broken", app_pattern=pattern, example=example)
    with pytest.raises(CommandError, match=reason):
        call_command("refresh_user_agents", source=str(broken))
    assert user_agents.classify("TestCaster/1.0").name == "Test Caster"  # the good list stayed


def test_refresh_reports_an_unreachable_source(ua_dir: Path) -> None:
    with pytest.raises(CommandError, match="Could not read the list"):
        call_command("refresh_user_agents", source="http://127.0.0.1:9/src/")


def test_behind_s3_the_requested_ranges_count_merged(client: Client, show: Any, request: Any) -> None:
    """Redirected to S3 or a CDN, the body never passes through us: the range asked for counts, merged the same."""
    request.getfixturevalue("s3_mode")  # after the show (and its cover) were stored locally
    episode = live_episode_without_files(show)
    rendition = Rendition.objects.get(episode=episode)
    url = f"/d/e/{episode.pk}/audio_mp3.mp3"
    half = rendition.byte_size // 2
    assert get(client, url, HTTP_RANGE="bytes=0-1") == 302  # Apple's probe: nothing
    for _ in range(3):
        assert get(client, url, HTTP_RANGE=f"bytes=0-{half - 1}") == 302
    assert downloads() == 0 and ListenerWindow.objects.get().bytes_fetched == half
    assert get(client, url, HTTP_RANGE=f"bytes={half}-") == 302
    assert downloads() == 1
