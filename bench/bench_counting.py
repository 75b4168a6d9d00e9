"""Benchmark download counting's cost on the request path, and its storage per listener window.

1. A ranged GET (``Range: bytes=0-262143``, 256 KiB) of a counted MP3 through gunicorn (2 gthread workers, embedded
   default: SQLite + the file-system broker), with counting (a podcast app's User-Agent) and without (a bot's, which
   is never counted), alternated in rounds in the same run: p50/p99 and the ratio of the p50s. With counting, the
   request classifies the User-Agent, derives the listener's pseudonyms, wraps the body to learn the bytes
   written and hands one hit to the process's sender thread; the broker is written by that thread, never by the
   request.
2. Recording: N listeners' hits through feeds.analytics.download_record (what the worker's task does) on the
   configured database: time per hit, and the listener-window table's size per window.

Run: ``uv run python bench/bench_counting.py`` (``--requests 400 --rounds 3 --listeners 2000``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support import BENCH_KEY, ROOT, Gunicorn, http_get

APP = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SIZE = 8 * 1024 * 1024


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "media_hub.settings")
    django.setup()


def seed() -> int:
    """Runs inside the benchmark's environment: one live episode with an 8 MiB MP3 (≈ 8.7 min at 128 kbit/s)."""
    django_setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from episodes.models import Episode, Status
    from episodes.services.content import episode_create, episode_publish, show_create
    from tests.conftest import cover_art
    from tests.feeds.factories import add_rendition, media_bytes

    call_command("migrate", verbosity=0)
    existing = Episode.objects.filter(slug="bench-e1").first()
    if existing is not None:
        return existing.pk
    show = show_create(title="Bench", slug="bench-counting", description="Benchmark show.", categories=[["News"]],
                       artwork=cover_art())  # fmt: skip
    episode = episode_create(show=show, title="E1", slug="bench-e1")
    add_rendition(episode, "audio_mp3", content=media_bytes(SIZE, 1), duration=SIZE * 8 / 128_000, bitrate=128_000)
    Episode.objects.filter(pk=episode.pk).update(status=Status.READY)
    episode_publish(episode=episode, publish_at=timezone.now() - timedelta(hours=1))
    return episode.pk


def timed(port: int, path: str, ua: str, n: int) -> list[float]:
    headers = {"User-Agent": ua, "Range": "bytes=0-262143"}
    times = []
    for _ in range(n):
        start = time.perf_counter()
        status, _, body = http_get(port, path, headers)
        times.append((time.perf_counter() - start) * 1000)
        assert status == 206 and len(body) == 262_144, status
    return times


def record(listeners: int) -> None:
    """Phase 2, in the configured database (with DATABASE_URL set, a PostgreSQL database it may write to)."""
    seed()
    from datetime import UTC, datetime

    from django.db import connection

    from episodes.models import Rendition
    from feeds.analytics import DownloadHit, download_record
    from feeds.models import ListenerWindow

    rendition = Rendition.objects.filter(kind="audio_mp3", episode__slug="bench-e1").select_related("episode").first()
    assert rendition is not None and rendition.episode is not None
    mine = ListenerWindow.objects.filter(target=f"e:{rendition.episode_id}")
    mine.delete()
    at = datetime.now(UTC).isoformat()
    hits = []
    for n in range(listeners):
        for start, end in ((0, 199_999), (150_000, 499_999)):  # two overlapping ranges a listener, not yet a minute
            hits.append(DownloadHit(
                at=at, listener=f"{n:032x}", previous_listener=f"{n:031x}p", target=f"e:{rendition.episode_id}",
                show_id=rendition.episode.show_id, episode_id=rendition.episode_id, video_id=None, app="Overcast",
                platform="iOS", rendition_id=rendition.pk, start=start, end=end, threshold=960_000,
            ))  # fmt: skip
    started = time.perf_counter()
    for hit in hits:
        download_record(hit=hit)
    per_hit = (time.perf_counter() - started) / len(hits) * 1000
    windows = mine.count()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE feeds_listenerwindow")
            cursor.execute(
                "SELECT pg_total_relation_size('feeds_listenerwindow'), "
                "pg_relation_size('feeds_listenerwindow'), (SELECT COUNT(*) FROM feeds_listenerwindow)"
            )
            total, heap, rows = cursor.fetchone()
            where = f"PostgreSQL: {total / rows:.0f} bytes a window with its indexes ({heap / rows:.0f} in the table)"
        else:
            cursor.execute(
                "SELECT AVG(LENGTH(listener) + LENGTH(target) + LENGTH(app) + LENGTH(platform) "
                "+ LENGTH(ranges)) FROM feeds_listenerwindow"
            )
            (avg_text,) = cursor.fetchone()
            where = f"SQLite: {avg_text + 7 * 8:.0f} bytes of column data a window (text + 7 numbers/dates) + indexes"
    sample = mine.first()
    print(
        f"recording: {len(hits)} hits of {windows} listener windows, {per_hit:.2f} ms a hit; {where}; "
        f"ranges kept until a window counts, e.g. {json.dumps(sample.ranges) if sample else '-'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--record", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--listeners", type=int, default=2000)
    args = parser.parse_args()
    if args.seed:
        print(json.dumps({"episode": seed()}))
        return
    if args.record:
        record(args.record)
        return
    with tempfile.TemporaryDirectory(prefix="bench-counting-") as tmp:
        env = {**os.environ, "MEDIA_HUB_VAR_DIR": tmp, "SECRET_KEY": BENCH_KEY, "DEBUG": "0", "LOG_LEVEL": "WARNING",
               "MEDIA_ROOT": f"{tmp}/media", "MEDIA_WORK_DIR": f"{tmp}/work",
               "DJANGO_SETTINGS_MODULE": "media_hub.settings"}  # fmt: skip
        env = {k: v for k, v in env.items() if not k.startswith(("S3_", "DATABASE_URL", "CELERY_BROKER_URL"))}
        for folder in ("broker/processed", "broker/control"):  # the run command makes these in embedded mode
            Path(tmp, folder).mkdir(parents=True)
        seeded = subprocess.run([sys.executable, __file__, "--seed"], env=env, cwd=ROOT, check=True,
                                capture_output=True, text=True)  # fmt: skip
        episode = json.loads(seeded.stdout.strip().splitlines()[-1])["episode"]
        path = f"/d/e/{episode}/audio_mp3.mp3"
        server = Gunicorn(env, workers=2, extra=("-k", "gthread", "--threads", "4"))
        counted: list[float] = []
        plain: list[float] = []
        try:
            timed(server.port, path, APP, 50), timed(server.port, path, BOT, 50)  # warm both paths
            for n in range(args.rounds):  # alternate which goes first: a shared machine drifts
                first, second = (APP, BOT) if n % 2 == 0 else (BOT, APP)
                for ua in (first, second):
                    (counted if ua == APP else plain).extend(timed(server.port, path, ua, args.requests))
            time.sleep(1.0)  # let the sender threads write what they hold
            broker_files = sum(1 for _ in Path(tmp, "broker").rglob("*.msg"))
        finally:
            server.stop()
        for name, times in (("with counting", counted), ("without (a bot)", plain)):
            times.sort()
            print(
                f"ranged GET 256 KiB {name:>16}: p50 {statistics.median(times):.2f} ms, "
                f"p99 {times[int(len(times) * 0.99) - 1]:.2f} ms ({len(times)} requests)"
            )
        print(
            f"ratio of p50s (counted / not counted): {statistics.median(counted) / statistics.median(plain):.3f}; "
            f"{broker_files} task messages for {len(counted)} counted requests (batched by the sender threads)"
        )
        recorded = subprocess.run([sys.executable, __file__, "--record", str(args.listeners)], env=env, cwd=ROOT,
                                  check=True, capture_output=True, text=True)  # fmt: skip
        print(recorded.stdout.strip())
        if os.environ.get("DATABASE_URL"):
            pg = subprocess.run([sys.executable, __file__, "--record", str(args.listeners)],
                                env={**env, "DATABASE_URL": os.environ["DATABASE_URL"]}, cwd=ROOT, check=False,
                                capture_output=True, text=True)  # fmt: skip
            print(pg.stdout.strip() or pg.stderr.strip()[-2000:])


if __name__ == "__main__":
    main()
