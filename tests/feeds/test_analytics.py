"""Download counting through the real /d/ endpoint: bots, Apple's probe, rolling 24 h dedupe, the range threshold."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.utils import timezone

from episodes.models import Rendition
from feeds.analytics import download_hit, download_record, listener_id, prune_listener_windows, threshold_bytes
from feeds.models import DailyDownloads, ListenerWindow
from feeds.serving import ByteRange
from feeds.user_agents import app_name, classify, is_bot
from tests.feeds.factories import MP3_BYTES, live_episode, live_video

pytestmark = pytest.mark.django_db

OVERCAST = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
APPLE = "AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; en_us)"
# The fixture MP3 is 10 s at 128 kbit/s: the "one minute" threshold is the whole 160,000-byte file.


@pytest.mark.parametrize(
    ("user_agent", "bot", "app", "platform"),
    [
        (OVERCAST, False, "Overcast", "iOS"),
        (APPLE, False, "Apple Podcasts", "iOS"),
        ("Podcasts/1650.20 CFNetwork/1410.1 Darwin/22.6.0", False, "Apple Podcasts", "macOS"),
        ("PocketCasts/1.0 (Pocket Casts Feed Parser; +http://pocketcasts.com/)", False, "Pocket Casts", None),
        ("AntennaPod/3.4.0", False, "AntennaPod", "Android"),
        ("PodcastAddict/v5 (Linux; U; Android 13)", False, "PodcastAddict", "Android"),
        ("Spotify/8.9.0 Android/33 (SM-G991B)", False, "Spotify", "Android"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
         False, "Google Chrome", "Windows"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", False, "Firefox", "Linux"),
        ("Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36", False,
         "Google Chrome", "Android"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", True, None, None),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", True, None, None),
        ("curl/8.5.0", True, None, None),
        ("python-requests/2.31", True, None, None),
        ("", True, None, None),
        # #18: common fetchers the old hand-made list missed (our additions, checked before the OPAWG list).
        ("python-httpx/0.27.0", True, None, None),
        ("axios/1.6.8", True, None, None),
        ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", True, None, None),
        ("undici", True, None, None),
        ("PostmanRuntime/7.36.0", True, None, None),
        ("Deno/1.40.0", True, None, None),
        ("iTMS", True, None, None),
        ("Podchaser-Parser", True, None, None),
        ("Podbean/FeedUpdate 2.1 (+https://www.podbean.com)", True, None, None),
    ],
)  # fmt: skip
def test_user_agents(user_agent: str, bot: bool, app: str | None, platform: str | None) -> None:
    assert is_bot(user_agent) is bot
    if app is not None:
        assert app_name(user_agent) == app
    if platform is not None:
        assert classify(user_agent).platform == platform


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


def test_full_download_counts_once_per_listener(client: Client, mp3: str) -> None:
    assert get(client, mp3) == 200
    assert get(client, mp3) == 200
    assert downloads() == 1
    get(client, mp3, ip="198.51.100.8")  # another listener
    get(client, mp3, ua=APPLE)  # same IP, another app: another listener
    assert downloads() == 3
    assert dict(DailyDownloads.objects.values_list("app", "downloads")) == {"Overcast": 2, "Apple Podcasts": 1}
    row = ListenerWindow.objects.first()
    assert row is not None and "198.51.100" not in row.listener  # no raw IP stored


def test_bots_head_and_apple_probes_never_count(client: Client, mp3: str) -> None:
    get(client, mp3, ua="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    assert client.head(mp3, HTTP_USER_AGENT=OVERCAST).status_code == 200
    assert get(client, mp3, ua=APPLE, HTTP_RANGE="bytes=0-1") == 206
    assert get(client, mp3, ua=APPLE, HTTP_RANGE="bytes=0-1") == 206
    assert downloads() == 0
    assert ListenerWindow.objects.count() == 0  # the probe adds no bytes either


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
    ListenerWindow.objects.update(day=timezone.now().date() - timedelta(days=31))
    assert prune_listener_windows() == 1
    assert ListenerWindow.objects.count() == 0 and downloads() == 1


# Rolling 24 h windows, driven through download_hit + download_record with explicit times (what the /d/ view and
# the record_download task do with timezone.now()).
D = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def rendition(show: Any) -> Rendition:
    return Rendition.objects.get(episode=live_episode(show, 1))


def hit(rendition: Rendition, when: datetime, sent: ByteRange | None = None, ua: str = OVERCAST,
        ip: str = "198.51.100.7") -> bool:  # fmt: skip
    request = RequestFactory().get("/", HTTP_USER_AGENT=ua, REMOTE_ADDR=ip)
    found = download_hit(request, rendition=rendition, sent=sent or ByteRange(0, MP3_BYTES - 1), when=when)
    assert found is not None
    return download_record(hit=found)


def by_day() -> dict[tuple[date, str], int]:
    return {(row.day, row.app): row.downloads for row in DailyDownloads.objects.all()}


def test_one_download_per_rolling_24_hours_not_per_calendar_day(rendition: Rendition) -> None:
    late = D + timedelta(hours=23, minutes=30)
    assert hit(rendition, late) is True
    assert hit(rendition, late + timedelta(hours=1)) is False  # past midnight, still inside the window
    assert hit(rendition, late + timedelta(hours=23, minutes=59)) is False
    assert hit(rendition, late + timedelta(hours=24)) is True  # the window closed: a new one counts
    assert hit(rendition, late + timedelta(hours=30)) is False
    assert by_day() == {(date(2026, 3, 1), "Overcast"): 1, (date(2026, 3, 2), "Overcast"): 1}
    assert ListenerWindow.objects.count() == 2


def test_windows_are_per_listener_and_episode(rendition: Rendition, show: Any) -> None:
    other = Rendition.objects.get(episode=live_episode(show, 2))
    assert hit(rendition, D) and hit(other, D + timedelta(minutes=1))
    assert hit(rendition, D + timedelta(minutes=2), ip="198.51.100.8")
    assert hit(rendition, D + timedelta(minutes=3), ua=APPLE)
    assert downloads() == 4 and DailyDownloads.objects.filter(episode=other.episode_id).get().downloads == 1


def test_ranges_add_up_across_midnight_and_count_on_the_day_they_cross(rendition: Rendition) -> None:
    half = MP3_BYTES // 2
    assert hit(rendition, D + timedelta(hours=23, minutes=50), ByteRange(0, half - 1)) is False
    assert hit(rendition, D + timedelta(hours=24, minutes=10), ByteRange(half, MP3_BYTES - 1)) is True
    assert by_day() == {(date(2026, 3, 2), "Overcast"): 1}
    window = ListenerWindow.objects.get()
    assert window.day == date(2026, 3, 1) and window.bytes_fetched == MP3_BYTES
    assert window.started_at == D + timedelta(hours=23, minutes=50)


def test_bytes_of_an_expired_window_do_not_carry_over(rendition: Rendition) -> None:
    half = MP3_BYTES // 2
    assert hit(rendition, D, ByteRange(0, half - 1)) is False
    assert hit(rendition, D + timedelta(hours=25), ByteRange(half, MP3_BYTES - 1)) is False
    assert downloads() == 0 and ListenerWindow.objects.count() == 2


def test_hits_recorded_out_of_order(rendition: Rendition) -> None:
    """Tasks may run in any order: a later request's window is moved back to the earlier request."""
    half = MP3_BYTES // 2
    assert hit(rendition, D + timedelta(hours=10), ByteRange(half, MP3_BYTES - 1)) is False
    assert hit(rendition, D + timedelta(hours=9), ByteRange(0, half - 1)) is True
    window = ListenerWindow.objects.get()
    assert window.started_at == D + timedelta(hours=9) and window.last_seen == D + timedelta(hours=10)
    assert hit(rendition, D + timedelta(hours=32)) is False  # 23 h after the window opened
    assert hit(rendition, D + timedelta(hours=33)) is True


def test_prune_keeps_windows_still_open(rendition: Rendition, settings: Any) -> None:
    settings.DOWNLOAD_EVENTS_RETENTION_DAYS = 1
    hit(rendition, D + timedelta(hours=23))
    assert prune_listener_windows(now=D + timedelta(hours=26)) == 0
    assert hit(rendition, D + timedelta(hours=26)) is False  # the open window was kept, so no second count
    assert prune_listener_windows(now=D + timedelta(days=2, hours=1)) == 1
    assert downloads() == 1


def test_stats_api_for_staff_and_the_shows_producers_and_by_day_app_platform(client: Client, show: Any) -> None:
    from episodes.services.tokens import api_token_create

    episode = live_episode(show, 1)
    url = f"/d/e/{episode.pk}/audio_mp3.mp3"
    get(client, url)
    get(client, url, ua=APPLE)
    api = f"/api/v1/stats/shows/{show.slug}/downloads"
    assert client.get(api).status_code == 401
    assert client.get(api, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401
    outsider = get_user_model().objects.create_user("outsider", password="pw-123456789")
    _, outsider_token = api_token_create(user=outsider, name="tool")
    assert client.get(api, HTTP_AUTHORIZATION=f"Bearer {outsider_token}").status_code == 403
    assert client.get(f"/api/v1/stats/episodes/{episode.pk}/downloads",
                      HTTP_AUTHORIZATION=f"Bearer {outsider_token}").status_code == 403  # fmt: skip
    client.force_login(outsider)
    assert client.get(api).status_code == 403
    client.logout()

    producer = get_user_model().objects.create_user("producer", password="pw-123456789")
    show.members.add(producer)
    _, token = api_token_create(user=producer, name="spreadsheet")
    by_token = client.get(api, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    staff = get_user_model().objects.create_user("editor", password="pw-123456789", is_staff=True)
    client.force_login(staff)
    body = client.get(api).json()
    assert by_token == body  # a producer's tool sees the same figures as staff
    today = timezone.now().date().isoformat()
    assert body["total"] == 2 and body["by_day"] == [{"day": today, "downloads": 2}]
    assert {row["app"] for row in body["by_app"]} == {"Overcast", "Apple Podcasts"}
    assert body["by_platform"] == [{"platform": "iOS", "downloads": 2}]
    episode_stats = client.get(f"/api/v1/stats/episodes/{episode.pk}/downloads?since={today}").json()
    assert episode_stats["total"] == 2
    assert client.get("/api/v1/stats/shows/nope/downloads").status_code == 404
    assert client.get(f"{api}?since=2026-02-01&until=2026-01-01").status_code == 422
    assert client.get(f"{api}?since=garbage").status_code == 422


def test_stats_of_a_draft_are_not_found_for_outsiders(client: Client, show: Any) -> None:
    from episodes.services.content import episode_unpublish
    from episodes.services.tokens import api_token_create

    episode = live_episode(show, 1)
    episode_unpublish(episode=episode)
    outsider = get_user_model().objects.create_user("outsider", password="pw-123456789")
    _, token = api_token_create(user=outsider, name="tool")
    response = client.get(f"/api/v1/stats/episodes/{episode.pk}/downloads", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_admin_lists_daily_downloads(client: Client, mp3: str) -> None:
    get(client, mp3)
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(admin)
    page = client.get("/admin/feeds/dailydownloads/")
    assert page.status_code == 200 and b"Overcast" in page.content
    assert client.get("/admin/feeds/listenerwindow/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_of_one_listener_count_once(show: Any) -> None:
    """Two workers recording the same listener at once: one window, its bytes all added up, one download."""
    import threading

    from django.db import connection

    rendition = Rendition.objects.get(episode=live_episode(show, 1))
    quarter = MP3_BYTES // 4
    hits = []
    for n in range(8):  # twice the file, in quarters, from one listener within a minute
        start = (n % 4) * quarter
        request = RequestFactory().get("/", HTTP_USER_AGENT=OVERCAST, REMOTE_ADDR="198.51.100.7")
        found = download_hit(request, rendition=rendition, sent=ByteRange(start, start + quarter - 1),
                             when=D + timedelta(seconds=n))  # fmt: skip
        assert found is not None
        hits.append(found)
    results: list[bool] = []
    barrier = threading.Barrier(len(hits))

    def record(hit: Any) -> None:
        try:
            barrier.wait()
            results.append(download_record(hit=hit))
        finally:
            connection.close()

    threads = [threading.Thread(target=record, args=(h,)) for h in hits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    window = ListenerWindow.objects.get()
    assert window.bytes_fetched == MP3_BYTES and window.started_at == D  # twice the file: its bytes once
    assert downloads() == 1
