"""A request log built from the IAB Podcast Measurement Guidelines' cases (v2.2) and #18's, replayed through the real
/d/ delivery view on the clock of each request; the counts per episode, app, platform and UTC day are exact.

Each case names the rule it holds (docs/measurement.md lists the rules with these tests).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory

from episodes.models import Episode, Rendition
from feeds.models import DailyDownloads
from tests.conftest import wsgi_keeps_test_connection
from tests.feeds.factories import add_rendition, live_episode, live_video, media_bytes

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
KB = 1000
# The episodes' MP3: 125 s at 128 kbit/s = 2,000,000 bytes; a minute (the threshold) is 960,000 bytes.
SIZE = 2_000_000
MINUTE = 960_000

APPLE = "AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; en_us)"
OVERCAST = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
POCKET = "PocketCasts/1.0 (Pocket Casts Feed Parser; +http://pocketcasts.com/)"
SPOTIFY = "Spotify/8.9.0 Android/33 (SM-G991B)"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
ANTENNA = "AntennaPod/3.4.0"


@dataclass(frozen=True)
class Req:
    minutes: float  # after T0
    item: str  # "a", "b" (episodes) or "v" (the video)
    ua: str
    ip: str = "198.51.100.10"
    range: str | None = None
    method: str = "GET"
    chunks: int | None = None  # the client leaves after the server wrote this many 64 KiB chunks
    forwarded: str | None = None  # X-Forwarded-For (sent through the trusted proxy 10.0.0.1)


LOG = [
    # 1. Apple Podcasts: the bytes=0-1 probe, then the whole file in one range -> 1 (probe never counts).
    Req(0, "a", APPLE, "203.0.113.1", "bytes=0-1"),
    Req(0.1, "a", APPLE, "203.0.113.1", "bytes=0-"),
    # 2. A probe alone -> 0.
    Req(1, "b", APPLE, "203.0.113.2", "bytes=0-1"),
    # 3. Overcast streams in sequential ranges that together pass a minute -> 1, however many requests.
    *[
        Req(2 + n / 10, "a", OVERCAST, "203.0.113.3", f"bytes={n * 250 * KB}-{(n + 1) * 250 * KB - 1}")
        for n in range(5)
    ],
    # 4. The same listener again within 24 h -> still 1; after 24 h a new window -> 1 more, on the next day.
    Req(60, "a", OVERCAST, "203.0.113.3"),
    Req(24 * 60 + 3, "a", OVERCAST, "203.0.113.3"),
    # 5. Bots and scripted clients never count, whatever they fetch.
    Req(5, "a", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "66.249.66.1"),
    Req(5, "a", "python-httpx/0.27.0", "203.0.113.5"),
    Req(5, "a", "axios/1.6.8", "203.0.113.5"),
    Req(5, "a", "iTMS", "17.0.0.1"),
    Req(5, "a", "", "203.0.113.6"),
    # 6. HEAD is never a download.
    Req(6, "b", POCKET, "203.0.113.7", method="HEAD"),
    # 7. The same first 100 KB (about 6 s) twelve times -> 0: distinct bytes, not requested ones.
    *[Req(7 + n / 10, "b", SPOTIFY, "203.0.113.8", "bytes=0-99999") for n in range(12)],
    # 8. A full GET dropped after 20 KB (the first 64 KiB chunk never finished) -> 0: bytes sent, not promised.
    Req(8, "b", CHROME, "203.0.113.9", chunks=0),
    # ... and one dropped after ~1 MB written (16 chunks) -> 1: more than a minute really went out.
    Req(8, "a", CHROME, "203.0.113.9", chunks=16),
    # 9. Same IP, two apps: two listeners (IP + User-Agent) -> 2.
    Req(9, "b", POCKET, "203.0.113.10"),
    Req(9, "b", ANTENNA, "203.0.113.10"),
    # 10. Behind our trusted proxy: two clients told apart by X-Forwarded-For -> 2; a forged left-most entry does
    #     not split one listener into two -> +0.
    Req(10, "b", OVERCAST, forwarded="192.0.2.20"),
    Req(10, "b", OVERCAST, forwarded="192.0.2.21"),
    Req(10.5, "b", OVERCAST, forwarded="6.6.6.6, 192.0.2.21"),
    # 11. Less than a minute of a long file -> 0.
    Req(11, "b", OVERCAST, "203.0.113.12", f"bytes=0-{MINUTE - 2}"),
    # 12. Ranges that cross midnight UTC count on the day the threshold is crossed (Mar 2), in the first window.
    Req(14 * 60 + 55, "a", POCKET, "203.0.113.13", f"bytes=0-{MINUTE // 2}"),
    Req(15 * 60 + 5, "a", POCKET, "203.0.113.13", f"bytes={MINUTE // 2}-{MINUTE}"),
    # 13. The explainer video's MP4 counts for the video.
    Req(20, "v", CHROME, "203.0.113.14"),
]

EXPECTED = {
    # (item, app, platform, UTC day): downloads
    ("a", "Apple Podcasts", "iOS", date(2026, 3, 1)): 1,
    ("a", "Overcast", "iOS", date(2026, 3, 1)): 1,
    ("a", "Overcast", "iOS", date(2026, 3, 2)): 1,
    ("a", "Google Chrome", "Windows", date(2026, 3, 1)): 1,
    ("b", "Pocket Casts", "", date(2026, 3, 1)): 1,
    ("b", "AntennaPod", "Android", date(2026, 3, 1)): 1,
    ("b", "Overcast", "iOS", date(2026, 3, 1)): 2,
    ("a", "Pocket Casts", "", date(2026, 3, 2)): 1,
    ("v", "Google Chrome", "Windows", date(2026, 3, 1)): 1,
}


@pytest.fixture
def items(show: Any) -> dict[str, Any]:
    a = live_episode(show, 1, publish_at=T0 - timedelta(days=7))
    b = live_episode(show, 2, publish_at=T0 - timedelta(days=7))
    for episode in (a, b):
        add_rendition(episode, "audio_mp3", content=media_bytes(SIZE, episode.pk), duration=125.0, bitrate=128_000)
    video = live_video(show)
    type(video).objects.filter(pk=video.pk).update(publish_at=T0 - timedelta(days=7))
    return {"a": a, "b": b, "v": video}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The request's time, as the delivery view and the selectors see it."""
    now = [T0]
    monkeypatch.setattr("django.utils.timezone.now", lambda: now[0])
    yield now


def url(items: dict[str, Any], key: str) -> str:
    item = items[key]
    if isinstance(item, Episode):
        return f"/d/e/{item.pk}/audio_mp3.mp3"
    return f"/d/v/{item.pk}/video_mp4-720p.mp4"


def send(path: str, req: Req) -> None:
    headers: dict[str, Any] = {"HTTP_USER_AGENT": req.ua, "REMOTE_ADDR": req.ip}
    if req.range:
        headers["HTTP_RANGE"] = req.range
    if req.forwarded:
        headers |= {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": req.forwarded}
    environ = RequestFactory().generic(req.method, path, **headers).environ
    result: Any = WSGIHandler()(environ, lambda status, response_headers, exc_info=None: lambda data: None)
    try:
        for n, _chunk in enumerate(result):
            if req.chunks is not None and n == req.chunks:
                break  # the write of this chunk failed: the listener is gone
    finally:
        result.close()


def test_replayed_log_gives_exact_counts_per_episode_app_platform_and_day(
    items: dict[str, Any], clock: list[datetime], settings: Any
) -> None:
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)
    with wsgi_keeps_test_connection():
        for req in sorted(LOG, key=lambda r: r.minutes):
            clock[0] = T0 + timedelta(minutes=req.minutes)
            send(url(items, req.item), req)
    keys = {item.pk: key for key, item in items.items() if isinstance(item, Episode)}
    got: dict[tuple[str, str, str, date], int] = {}
    for row in DailyDownloads.objects.all():
        key = keys[row.episode_id] if row.episode_id else "v"
        got[(key, row.app, row.platform, row.day)] = row.downloads
    assert got == EXPECTED
    assert Rendition.objects.filter(kind="audio_mp3", byte_size=SIZE).count() == 2
