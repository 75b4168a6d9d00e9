"""Benchmark the podcast feed of a 2,000-episode show (a seeded SQLite database in a temporary folder).

1. Cold render: feed_state + rows + items + document + gzip with the feed's bytes not cached (median of several
   runs, in one process, as a gunicorn worker does it on the first request after a change), in three cases: items
   memoised in the worker, items only in the shared FeedItem table (a new worker), no item built anywhere.
   Target ≤ 0.3 s.
2. Warm ``GET /feeds/<slug>.xml`` per second over real HTTP (gunicorn on 127.0.0.1, keep-alive clients)
   against the SAME bytes served as a static file by WhiteNoise from the same server in the same run.
   Target ≥ 0.5 × the static baseline.
3. ``If-None-Match`` revalidations (304) per second: cheaper still than warm 200s.

Every episode has MP3/AAC/Opus renditions, WebVTT + SRT transcripts, chapters, a soundbite, two credits and a
Ukrainian title; every 20th has a live source video (MP4 720p/360p + HLS). The machine is shared: each figure is
the median of ``--repeat`` runs, and the load average is printed next to it.

Run: ``uv run python bench/bench_feed.py`` (``--episodes 2000 --seconds 3 --repeat 3``).
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from support import BENCH_KEY, ROOT, Gunicorn, http_get, loadavg

SLUG = "ukraina-tyzhden"
STATIC_NAME = "bench/feed.xml"


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "media_hub.settings")
    django.setup()


def seed(episodes: int) -> None:
    """Runs inside the benchmark's environment: migrate and bulk-create one realistic, fully tagged show."""
    _django()
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from episodes.links import show_feed_url
    from episodes.models import (
        Episode,
        EpisodePerson,
        MediaSource,
        Person,
        Rendition,
        Show,
        ShowPerson,
        Status,
        Transcript,
        Video,
    )  # fmt: skip
    from episodes.models.content import podcast_guid_for

    call_command("migrate", verbosity=0)
    now = timezone.now()
    show = Show.objects.create(
        title="Україна: тиждень", slug=SLUG, description="Щотижневий огляд новин з України. " * 20, language="uk",
        artwork="artwork/shows/cover.jpg", categories=["News/Daily News", "News/Politics", "Society & Culture"],
        author="Редакція", owner_name="Редакція", owner_email="podcasts@news.example.com",
        copyright="© 2024 News Example", website_url="https://news.example.com/podcast",
        podcast_guid=podcast_guid_for(show_feed_url(SLUG)),
        funding=[{"url": "https://news.example.com/support", "text": "Підтримайте редакцію"}],
    )  # fmt: skip
    people = Person.objects.bulk_create(
        [Person(name=f"Олена Петренко {n}", href=f"https://news.example.com/people/{n}") for n in range(20)]
    )
    ShowPerson.objects.create(show=show, person=people[0], role="host")
    notes = (
        "<p>У цьому випуску: фронт, економіка, культура. <a href='https://news.example.com/a/{n}'>Стаття</a></p>"
        "<ul><li>Перша тема</li><li>Друга тема</li><li>Третя тема</li></ul><p>Гості: експерти та журналісти.</p>"
    )
    rows = [
        Episode(
            show=show, title=f"Тиждень {n}: що змінилося в Україні", slug=f"tyzhden-{n}",
            summary=f"Коротко про головне за тиждень, випуск {n}: фронт, економіка, культура.",
            show_notes=notes.format(n=n),
            season=1 + n // 100, number=n, explicit=n % 50 == 0, artwork=f"artwork/episodes/{n}.jpg",
            status=Status.PUBLISHED, publish_at=now - timedelta(hours=12 * n), first_published_at=now,
            chapters=[{"start": 0, "title": "Вступ"}, {"start": 120.5, "title": "Головне"},
                      {"start": 900, "title": "Підсумки", "url": "https://news.example.com"}],
            soundbites=[{"start": 60, "duration": 30, "title": "Найцікавіше"}],
        )
        for n in range(1, episodes + 1)
    ]  # fmt: skip
    Episode.objects.bulk_create(rows, batch_size=500)
    rows = list(Episode.objects.filter(show=show).order_by("id"))
    sources = MediaSource.objects.bulk_create(
        [MediaSource(episode=e, storage_key=f"sources/{e.pk}.wav", original_filename="in.wav", byte_size=10**8,
                     kind="audio") for e in rows], batch_size=500,
    )  # fmt: skip
    renditions, transcripts, credits = [], [], []
    for episode, source in zip(rows, sources, strict=True):
        base = f"renditions/episodes/{episode.pk}/run1"
        for kind, ext, mime, codecs, bitrate in (
            ("audio_mp3", "mp3", "audio/mpeg", "mp3", 128_000),
            ("audio_aac", "m4a", "audio/mp4", "mp4a.40.2", 96_000),
            ("audio_opus", "opus", "audio/ogg", "opus", 48_000),
        ):
            renditions.append(Rendition(
                episode=episode, source=source, kind=kind, mime_type=mime, codecs=codecs, bitrate=bitrate,
                duration=1799.6, byte_size=bitrate * 1800 // 8 + episode.pk, storage_key=f"{base}/{kind}.{ext}",
            ))  # fmt: skip
        for fmt in ("vtt", "srt"):
            transcripts.append(Transcript(episode=episode, language="uk", format=fmt, byte_size=40_000,
                                          storage_key=f"transcripts/episodes/{episode.pk}/uk.{fmt}"))  # fmt: skip
        for position, role in enumerate(("host", "guest")):
            credits.append(EpisodePerson(episode=episode, person=people[(episode.pk + position) % len(people)],
                                         role=role, position=position))  # fmt: skip
    for episode in rows[::20]:
        video = Video.objects.create(
            show=show,
            title=episode.title,
            slug=f"video-{episode.pk}",
            episode=episode,
            status=Status.PUBLISHED,
            publish_at=episode.publish_at,
            first_published_at=now,
        )
        source = MediaSource.objects.create(
            video=video,
            storage_key=f"sources/v{video.pk}.mp4",
            original_filename="in.mp4",
            byte_size=10**9,
            kind="video",
        )
        base = f"renditions/videos/{video.pk}/run1"
        for variant, height in (("720p", 720), ("360p", 360)):
            renditions.append(Rendition(
                video=video, source=source, kind="video_mp4", variant=variant, mime_type="video/mp4",
                codecs="avc1.64001f,mp4a.40.2", bitrate=height * 4000, width=height * 16 // 9, height=height,
                duration=1799.6, byte_size=height * 900_000, storage_key=f"{base}/video_mp4-{variant}.mp4",
            ))  # fmt: skip
        renditions.append(Rendition(video=video, source=source, kind="hls", mime_type="application/vnd.apple.mpegurl",
                                    byte_size=600, storage_key=f"{base}/hls/master.m3u8"))  # fmt: skip
    Rendition.objects.bulk_create(renditions, batch_size=500)
    Transcript.objects.bulk_create(transcripts, batch_size=500)
    EpisodePerson.objects.bulk_create(credits, batch_size=500)
    from django.db import connection

    if connection.vendor == "sqlite":  # a live database is checkpointed; a fresh bulk load sits in the WAL
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def cold(repeat: int, out: str) -> None:
    """Runs inside the benchmark's environment: time cold renders, write the feed bytes for the static baseline.

    Every render finds the feed's bytes not cached. "cold": the first request after a publish, an edit or a
    scheduled moment, in a running worker whose memo holds the items of the episodes that did not change. "new
    worker": the memo is empty (a worker's first render of the show after it started) and the items come from the
    FeedItem table. "from nothing": no item built anywhere (the first render ever, or after a deploy that changed
    the feed code): every item is mapped and built by feedgen.
    """
    _django()
    from django.db import connection

    from episodes.models import Show
    from feeds.builder import assemble_feed, build_feed
    from feeds.items import ITEM_FRAGMENTS, items_xml
    from feeds.mapping import feed_inputs, feed_sources
    from feeds.models import FeedItem
    from feeds.rendering import RenderedFeed, feed_cache, rendered_feed
    from feeds.selectors import feed_state

    def render(case: str) -> tuple[float, float, RenderedFeed]:
        feed_cache().clear()
        if case != "cold":
            ITEM_FRAGMENTS.clear()
        if case == "nothing":
            FeedItem.objects.all().delete()
        connection.close()  # a fresh connection too: no statement or page cache from the previous run
        start, cpu = time.perf_counter(), time.process_time()
        state = feed_state(slug=SLUG)
        assert state is not None
        rendered = rendered_feed(state)
        return time.perf_counter() - start, time.process_time() - cpu, rendered

    render("nothing")  # imports, lazy module state, SQLite page cache: what a running worker already has
    cases = ("nothing", "fresh", "cold")
    figures: dict[str, list[float]] = {f"{case}{kind}": [] for case in cases for kind in ("", "_cpu")}
    figures |= {"sources": [], "items": [], "assemble": [], "build_scratch": []}
    for _ in range(repeat):
        for case in cases:
            wall, cpu, rendered = render(case)
            figures[case].append(wall)
            figures[f"{case}_cpu"].append(cpu)
        state = feed_state(slug=SLUG)
        assert state is not None
        start = time.perf_counter()
        channel, rows, info, public = feed_sources(show=state.show, last_build_date=state.last_modified,
                                                   live_count=state.live_count)  # fmt: skip
        figures["sources"].append(time.perf_counter() - start)
        start = time.perf_counter()
        xmls = items_xml(rows, public)
        figures["items"].append(time.perf_counter() - start)
        start = time.perf_counter()
        assert assemble_feed(channel, xmls, page=info) == rendered.body
        figures["assemble"].append(time.perf_counter() - start)
        channel, episodes, info = feed_inputs(show=state.show, last_build_date=state.last_modified,
                                              live_count=state.live_count)  # fmt: skip
        start = time.perf_counter()
        assert build_feed(channel, episodes, page=info) == rendered.body
        figures["build_scratch"].append(time.perf_counter() - start)
    from feeds.items import items_prepare

    show = Show.objects.get(slug=SLUG)
    start = time.perf_counter()
    assert items_prepare(show=show) == 0
    figures["prepare"] = [time.perf_counter() - start]
    Path(out).write_bytes(rendered.body)
    Path(out + ".gz").write_bytes(rendered.gzipped)
    print(json.dumps({**{name: statistics.median(values) for name, values in figures.items()},
                      "items_count": len(episodes), "bytes": len(rendered.body),
                      "gzipped": len(rendered.gzipped), "etag": rendered.etag}))  # fmt: skip


def load(port: int, path: str, headers: dict[str, str], expect: int, *, seconds: float, max_requests: int,
         threads: int) -> tuple[float, int]:  # fmt: skip
    """Requests per second of ``threads`` keep-alive clients, bounded by time and by count; and the count."""
    counts = [0] * threads
    errors: list[str] = []
    stop_at = time.monotonic() + seconds
    per_thread = max_requests // threads

    def run(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while time.monotonic() < stop_at and counts[i] < per_thread:
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (http.client.HTTPException, OSError):  # the server closed an idle connection: reconnect
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    continue
                if response.status != expect:
                    errors.append(f"{path}: {response.status}")
                    return
                counts[i] += 1
        finally:
            conn.close()

    start = time.perf_counter()
    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(errors[0])
    return sum(counts) / elapsed, sum(counts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cold", help=argparse.SUPPRESS)
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one load run")
    parser.add_argument("--max-requests", type=int, default=20_000, help="bound of one load run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="client threads (and threads per worker)")
    args = parser.parse_args()
    if args.seed:
        seed(args.seed)
        return
    if args.cold:
        cold(args.repeat, args.cold)
        return
    with tempfile.TemporaryDirectory(prefix="bench-feed-") as tmp:
        env = {**os.environ, "MEDIA_HUB_VAR_DIR": tmp, "SECRET_KEY": BENCH_KEY, "DEBUG": "0", "LOG_LEVEL": "WARNING",
               "MEDIA_ROOT": f"{tmp}/media", "MEDIA_WORK_DIR": f"{tmp}/work", "PUBLIC_BASE_URL":
               "https://news.example.com", "DJANGO_SETTINGS_MODULE": "media_hub.settings"}  # fmt: skip
        env = {k: v for k, v in env.items() if not k.startswith(("S3_", "DATABASE_URL", "WEBSUB_"))}
        for folder in ("broker/processed", "broker/control"):  # the run command makes these in embedded mode
            Path(tmp, folder).mkdir(parents=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--seed", str(args.episodes)], env=env, cwd=ROOT, check=True)
        print(f"seeded {args.episodes} episodes in {time.perf_counter() - started:.1f} s")
        static_file = Path(tmp, "static", STATIC_NAME)
        static_file.parent.mkdir(parents=True)
        print(f"load average before: {loadavg()}")
        out = subprocess.run([sys.executable, __file__, "--cold", str(static_file), "--repeat", str(args.repeat * 2)],
                             env=env, cwd=ROOT, check=True, capture_output=True, text=True)  # fmt: skip
        facts = json.loads(out.stdout.strip().splitlines()[-1])
        ms = {name: value * 1000 for name, value in facts.items() if isinstance(value, float)}
        size, gzipped = facts["bytes"] / 1024, facts["gzipped"] / 1024
        print(
            f"feed: {facts['items_count']} items, {size:.0f} KiB, gzip {gzipped:.0f} KiB; renders with the feed's "
            f"bytes not cached, median of {args.repeat * 2}, target ≤ 300 ms:"
        )
        for case, label in (
            ("cold", "cold (after a change; unchanged items in the worker's memo)"),
            ("fresh", "new worker (empty memo; items from the FeedItem table)"),
            ("nothing", "from nothing (no item built anywhere: every item by feedgen)"),
        ):
            print(f"  {label:<62}{ms[case]:6.0f} ms wall, {ms[case + '_cpu']:4.0f} ms CPU")
        print(f"  parts of a cold render: channel + rows {ms['sources']:.0f} ms, items {ms['items']:.0f} ms, "
              f"document {ms['assemble']:.0f} ms (the rest: fingerprint query, gzip); every item by feedgen "
              f"{ms['build_scratch']:.0f} ms; load average {loadavg()}")  # fmt: skip
        print(f"  beat's item preparation with nothing missing (keys only): {ms['prepare']:.0f} ms")

        # WhiteNoise indexes STATIC_ROOT when the server starts: the file (and its .gz) must exist by then.
        # Threaded workers keep connections alive, as podcast apps' HTTP clients expect.
        threaded = ("-k", "gthread", "--threads", str(args.threads), "--keep-alive", "30")
        server = Gunicorn(env, args.workers, extra=threaded, timeout_s=120)
        try:
            feed_path, static_path = f"/feeds/{SLUG}.xml", f"/static/{STATIC_NAME}"
            gz = {"Accept-Encoding": "gzip"}
            status, headers, body = http_get(server.port, feed_path, gz)
            assert status == 200 and gzip.decompress(body) == static_file.read_bytes(), "feed differs from file"
            status, static_headers, static_body = http_get(server.port, static_path, gz)
            assert status == 200 and static_body == body, "WhiteNoise did not serve the same gzipped bytes"
            etag = headers["etag"]
            assert etag == facts["etag"]
            cases = {
                "static (WhiteNoise, gzip)": (static_path, gz, 200),
                "feed warm (gzip)": (feed_path, gz, 200),
                "static (WhiteNoise, identity)": (static_path, {}, 200),
                "feed warm (identity)": (feed_path, {}, 200),
                "feed 304 (If-None-Match)": (feed_path, {**gz, "If-None-Match": etag}, 304),
                "static 304 (If-None-Match)": (static_path, {**gz, "If-None-Match": static_headers["etag"]}, 304),
            }
            for path, headers_, expect in cases.values():  # warm every worker and thread
                load(server.port, path, headers_, expect, seconds=0.5, max_requests=200, threads=args.threads)
            runs: dict[str, list[float]] = {name: [] for name in cases}
            cpu_ms: dict[str, list[float]] = {name: [] for name in cases}
            loads = []
            for _ in range(args.repeat):  # interleaved, so a burst of load on the machine hits every case
                for name, (path, headers_, expect) in cases.items():
                    cpu = server.cpu_seconds()
                    rate, count = load(server.port, path, headers_, expect, seconds=args.seconds,
                                       max_requests=args.max_requests, threads=args.threads)  # fmt: skip
                    runs[name].append(rate)
                    cpu_ms[name].append((server.cpu_seconds() - cpu) * 1000 / max(count, 1))
                loads.append(os.getloadavg()[0])
            rps = {name: statistics.median(values) for name, values in runs.items()}
            cost = {name: statistics.median(values) for name, values in cpu_ms.items()}
            for name, value in rps.items():
                spread = ", ".join(f"{v:.0f}" for v in runs[name])
                print(f"{name:<32} {value:8.0f} req/s  server CPU {cost[name]:.2f} ms/request  (runs: {spread})")
            warm_ratio = rps["feed warm (gzip)"] / rps["static (WhiteNoise, gzip)"]
            identity_ratio = rps["feed warm (identity)"] / rps["static (WhiteNoise, identity)"]
            not_modified = rps["feed 304 (If-None-Match)"] / rps["feed warm (gzip)"]
            cpu_ratio = cost["feed 304 (If-None-Match)"] / cost["feed warm (gzip)"]
            print(f"warm / static: {warm_ratio:.2f} gzip, {identity_ratio:.2f} identity (target ≥ 0.50)")
            print(f"304 / warm 200: {not_modified:.2f}× the requests per second, {cpu_ratio:.2f}× the server CPU per "
                  "request (target: revalidation cheaper than a full response)")  # fmt: skip
            print(f"{args.workers} gthread workers × {args.threads} threads, {args.threads} keep-alive client "
                  f"threads, {args.seconds:.0f} s per run, median of {args.repeat}; 1-min load average during "
                  f"runs {min(loads):.2f}–{max(loads):.2f}, now {loadavg()} on {os.cpu_count()} CPUs")  # fmt: skip
        except Exception:
            print((Path(tmp) / "gunicorn.log").read_text()[-3000:])
            raise
        finally:
            server.stop()


if __name__ == "__main__":
    main()
