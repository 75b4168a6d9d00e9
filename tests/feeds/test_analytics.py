"""Download counting through the real /d/ endpoint: bots, Apple's probe, 24 h dedupe, the range threshold."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from episodes.models import Rendition
from feeds.analytics import listener_id, prune_listener_days, threshold_bytes
from feeds.models import DailyDownloads, ListenerDay
from feeds.user_agents import app_name, is_bot
from tests.feeds.factories import MP3_BYTES, live_episode, live_video

pytestmark = pytest.mark.django_db

OVERCAST = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
APPLE = "AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; en_us)"
# The fixture MP3 is 10 s at 128 kbit/s: the "one minute" threshold is the whole 160,000-byte file.


@pytest.mark.parametrize(
    ("user_agent", "bot", "app"),
    [
        (OVERCAST, False, "Overcast"),
        (APPLE, False, "Apple Podcasts"),
        ("Podcasts/1650.20 CFNetwork/1410.1 Darwin/22.6.0", False, "Apple Podcasts"),
        ("PocketCasts/1.0 (Pocket Casts Feed Parser; +http://pocketcasts.com/)", False, "Pocket Casts"),
        ("AntennaPod/3.4.0", False, "AntennaPod"),
        ("PodcastAddict/v5 (Linux; U; Android 13)", False, "Podcast Addict"),
        ("Spotify/8.9.0 Android/33 (SM-G991B)", False, "Spotify"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
         False, "Chrome"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", False, "Firefox"),
        ("Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36", False,
         "Chrome"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", True, None),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", True, None),
        ("curl/8.5.0", True, None),
        ("python-requests/2.31", True, None),
        ("", True, None),
    ],
)  # fmt: skip
def test_user_agents(user_agent: str, bot: bool, app: str | None) -> None:
    assert is_bot(user_agent) is bot
    if app is not None:
        assert app_name(user_agent) == app


def test_listener_id_is_salted_hashed_and_rotates_daily(settings: Any) -> None:
    settings.ANALYTICS_SALT = "pepper"
    today = date(2026, 3, 1)
    one = listener_id(ip="203.0.113.9", user_agent=OVERCAST, day=today)
    assert len(one) == 32 and "203" not in one
    assert one == listener_id(ip="203.0.113.9", user_agent=OVERCAST, day=today)
    assert one != listener_id(ip="203.0.113.9", user_agent=OVERCAST, day=today + timedelta(days=1))
    assert one != listener_id(ip="203.0.113.10", user_agent=OVERCAST, day=today)
    settings.ANALYTICS_SALT = "other"
    assert one != listener_id(ip="203.0.113.9", user_agent=OVERCAST, day=today)


def test_threshold_from_bitrate_size_and_duration(show: Any) -> None:
    episode = live_episode(show, 1)
    mp3 = Rendition.objects.get(episode=episode)
    assert threshold_bytes(mp3) == MP3_BYTES  # shorter than a minute: the whole file
    mp3.byte_size, mp3.duration = 60_000_000, 3600.0
    assert threshold_bytes(mp3) == 128_000 // 8 * 60
    mp3.bitrate = None
    assert threshold_bytes(mp3) == 1_000_000  # 60 s of 60 MB / 3600 s


@pytest.fixture
def mp3(show: Any) -> str:
    return f"/d/e/{live_episode(show, 1).pk}/audio_mp3.mp3"


def get(client: Client, url: str, ua: str = OVERCAST, ip: str = "198.51.100.7", **headers: str) -> int:
    extra: dict[str, Any] = {"HTTP_USER_AGENT": ua, "REMOTE_ADDR": ip, **headers}
    response: Any = client.get(url, **extra)
    if response.streaming:
        b"".join(response.streaming_content)
    return int(response.status_code)


def downloads() -> int:
    return sum(DailyDownloads.objects.values_list("downloads", flat=True))


def test_full_download_counts_once_a_day_per_listener(client: Client, mp3: str) -> None:
    assert get(client, mp3) == 200
    assert get(client, mp3) == 200
    assert downloads() == 1
    get(client, mp3, ip="198.51.100.8")  # another listener
    get(client, mp3, ua=APPLE)  # same IP, another app: another listener
    assert downloads() == 3
    assert dict(DailyDownloads.objects.values_list("app", "downloads")) == {"Overcast": 2, "Apple Podcasts": 1}
    row = ListenerDay.objects.first()
    assert row is not None and "198.51.100" not in row.listener  # no raw IP stored


def test_bots_head_and_apple_probes_never_count(client: Client, mp3: str) -> None:
    get(client, mp3, ua="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    assert client.head(mp3, HTTP_USER_AGENT=OVERCAST).status_code == 200
    assert get(client, mp3, ua=APPLE, HTTP_RANGE="bytes=0-1") == 206
    assert get(client, mp3, ua=APPLE, HTTP_RANGE="bytes=0-1") == 206
    assert downloads() == 0
    assert ListenerDay.objects.count() == 0  # the probe adds no bytes either


def test_ranges_count_once_they_add_up_to_a_minute(client: Client, mp3: str) -> None:
    half = MP3_BYTES // 2
    assert get(client, mp3, ua=APPLE, HTTP_RANGE=f"bytes=0-{half - 2}") == 206
    assert downloads() == 0
    assert get(client, mp3, ua=APPLE, HTTP_RANGE=f"bytes={half - 1}-") == 206
    assert downloads() == 1
    assert get(client, mp3, ua=APPLE, HTTP_RANGE="bytes=0-") == 206
    assert downloads() == 1


def test_long_episode_counts_after_a_minute_of_ranges(client: Client, show: Any) -> None:
    episode = live_episode(show, 2)
    # Let the row describe an hour-long file: a minute is then 960,000 bytes of the 128 kbit/s stream.
    Rendition.objects.filter(episode=episode).update(duration=3600.0, byte_size=57_600_000)
    url = f"/d/e/{episode.pk}/audio_mp3.mp3"
    for start in range(0, MP3_BYTES, 40_000):
        get(client, url, HTTP_RANGE=f"bytes={start}-{start + 39_999}")
    assert downloads() == 0  # 160,000 bytes requested: 10 s of audio, not a minute


def test_video_mp4_counts_for_the_video(client: Client, show: Any) -> None:
    video = live_video(show)
    get(client, f"/d/v/{video.pk}/video_mp4-720p.mp4")
    row = DailyDownloads.objects.get()
    assert (row.video_id, row.episode_id, row.show_id, row.target) == (video.pk, None, show.pk, f"v:{video.pk}")


def test_recording_failure_never_breaks_the_download(client: Client, mp3: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(**kwargs: Any) -> bool:
        raise RuntimeError("database is locked")

    monkeypatch.setattr("feeds.analytics.download_record", boom)
    assert get(client, mp3) == 200


def test_prune_keeps_daily_counts(client: Client, mp3: str, settings: Any) -> None:
    settings.DOWNLOAD_EVENTS_RETENTION_DAYS = 30
    get(client, mp3)
    ListenerDay.objects.update(day=timezone.now().date() - timedelta(days=31))
    assert prune_listener_days() == 1
    assert ListenerDay.objects.count() == 0 and downloads() == 1


def test_stats_api_requires_staff_and_reports_by_day_and_app(client: Client, show: Any) -> None:
    episode = live_episode(show, 1)
    url = f"/d/e/{episode.pk}/audio_mp3.mp3"
    get(client, url)
    get(client, url, ua=APPLE)
    api = f"/api/v1/stats/shows/{show.slug}/downloads"
    assert client.get(api).status_code == 401
    user = get_user_model().objects.create_user("editor", password="pw-123456789")
    client.force_login(user)
    assert client.get(api).status_code == 401
    user.is_staff = True
    user.save()
    client.force_login(user)
    body = client.get(api).json()
    today = timezone.now().date().isoformat()
    assert body["total"] == 2 and body["by_day"] == [{"day": today, "downloads": 2}]
    assert {row["app"] for row in body["by_app"]} == {"Overcast", "Apple Podcasts"}
    episode_stats = client.get(f"/api/v1/stats/episodes/{episode.pk}/downloads?since={today}").json()
    assert episode_stats["total"] == 2
    assert client.get("/api/v1/stats/shows/nope/downloads").status_code == 404
    assert client.get(f"{api}?since=2026-02-01&until=2026-01-01").status_code == 422
    assert client.get(f"{api}?since=garbage").status_code == 422


def test_admin_lists_daily_downloads(client: Client, mp3: str) -> None:
    get(client, mp3)
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(admin)
    page = client.get("/admin/feeds/dailydownloads/")
    assert page.status_code == 200 and b"Overcast" in page.content
    assert client.get("/admin/feeds/listenerday/").status_code == 200
