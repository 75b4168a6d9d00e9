"""Benchmark the API over real HTTP (gunicorn on 127.0.0.1, a seeded SQLite database in a temporary folder).

1. ``GET /api/v1/articles/{id}/media`` with 1 and with 50 linked items: p50/p99 latency (sequential) and
   requests per second (4 client threads, 2 sync workers).
2. A 1 GB upload through the resumable API (64 MiB parts, local storage): peak RSS (VmHWM) of the web worker
   that received it; the target is ≤ 150 MB.

Run: ``uv run python bench/bench_api.py`` (``--upload-mb 1024`` to change the size, ``0`` to skip it).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from support import BENCH_KEY, ROOT, Gunicorn, http_get

BLOCK = os.urandom(1024 * 1024)


def seed() -> None:
    """Runs inside the benchmark's environment: migrate and create shows, media, articles and a token."""
    sys.path.insert(0, str(ROOT))
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "media_hub.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from episodes.services.articles import article_link_media, article_upsert
    from episodes.services.content import episode_create, show_create, video_create
    from episodes.services.tokens import api_token_create
    from tests.episodes.api.conftest import add_renditions, go_live

    call_command("migrate", verbosity=0)
    show = show_create(title="Bench", slug="bench", description="Benchmark show.")
    items = []
    for n in range(50):
        if n % 2:
            items.append(go_live(add_renditions(video_create(show=show, title=f"V{n}", slug=f"v{n}"), video=True)))
        else:
            items.append(go_live(add_renditions(episode_create(show=show, title=f"E{n}", slug=f"e{n}"), video=False)))
    one, _ = article_upsert(external_id="one", url="https://news.example.com/one")
    fifty, _ = article_upsert(external_id="fifty", url="https://news.example.com/fifty")
    article_link_media(article=one, items=items[:1])
    article_link_media(article=fifty, items=items)
    user = get_user_model().objects.create_user(username="bench", is_staff=True)
    show.members.add(user)
    print(json.dumps({"token": api_token_create(user=user, name="bench")[1], "episode": items[0].pk}))


def request(port: int, method: str, path: str, body: object = None, headers: dict[str, str] | None = None,
            ) -> tuple[int, bytes]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request(method, path, body=body, headers=headers or {})  # type: ignore[arg-type]
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def latency(port: int, path: str, n: int, headers: dict[str, str] | None = None) -> tuple[float, float]:
    for _ in range(20):
        assert request(port, "GET", path, headers=headers)[0] in {200, 304}
    times = []
    for _ in range(n):
        start = time.perf_counter()
        request(port, "GET", path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def throughput(port: int, path: str, seconds: float, threads: int = 4) -> float:
    count = [0] * threads
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        while time.monotonic() < stop:
            request(port, "GET", path)
            count[i] += 1

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(count) / seconds


def part_blocks(size: int) -> Iterator[bytes]:
    while size > 0:
        chunk = BLOCK[: min(len(BLOCK), size)]
        size -= len(chunk)
        yield chunk


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def upload(env: dict[str, str], token: str, episode: int, total: int) -> None:
    server = Gunicorn(env, workers=1)
    try:
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        part_size = 64 * 1024 * 1024
        start_body = {"type": "episode", "id": episode, "filename": "big.wav", "byte_size": total,
                      "part_size": part_size}  # fmt: skip
        status, data = request(server.port, "POST", "/api/v1/uploads", json.dumps(start_body), auth)
        assert status == 201, data
        session = json.loads(data)
        (worker,) = server.worker_pids()
        before = vm_hwm_kb(worker)
        started = time.perf_counter()
        for n in range(1, session["part_count"] + 1):
            size = min(part_size, total - (n - 1) * part_size)
            digest = hashlib.sha256()
            for block in part_blocks(size):
                digest.update(block)
            headers = {"Authorization": f"Bearer {token}", "X-Content-SHA256": digest.hexdigest(),
                       "Content-Length": str(size), "Content-Type": "application/octet-stream"}  # fmt: skip
            status, data = request(server.port, "PUT", f"/api/v1/uploads/{session['id']}/parts/{n}",
                                   part_blocks(size), headers)  # fmt: skip
            assert status == 200, data
        sent = time.perf_counter() - started
        status, data = request(server.port, "POST", f"/api/v1/uploads/{session['id']}/complete", "{}", auth)
        assert status == 200, data
        total_s = time.perf_counter() - started
        print(f"upload {total / 1024**2:.0f} MiB: parts sent in {sent:.1f} s, completed in {total_s:.1f} s; "
              f"worker peak RSS (VmHWM) {vm_hwm_kb(worker) / 1024:.0f} MB (after start-up {before / 1024:.0f} MB), "
              f"gunicorn master {vm_hwm_kb(server.proc.pid) / 1024:.0f} MB; target ≤ 150 MB")  # fmt: skip
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--upload-mb", type=int, default=1024)
    args = parser.parse_args()
    if args.seed:
        seed()
        return
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        env = {**os.environ, "MEDIA_HUB_VAR_DIR": tmp, "SECRET_KEY": BENCH_KEY, "DEBUG": "0", "LOG_LEVEL": "WARNING",
               "MEDIA_ROOT": f"{tmp}/media", "MEDIA_WORK_DIR": f"{tmp}/work", "DJANGO_SETTINGS_MODULE":
               "media_hub.settings", "MEDIA_MAX_UPLOAD_BYTES": str(8 * 1024**3)}  # fmt: skip
        env = {k: v for k, v in env.items() if not k.startswith(("S3_", "DATABASE_URL"))}
        for folder in ("broker/processed", "broker/control"):  # the run command makes these in embedded mode
            Path(tmp, folder).mkdir(parents=True)
        seeded = subprocess.run([sys.executable, __file__, "--seed"], env=env, cwd=ROOT, check=True,
                                capture_output=True, text=True)  # fmt: skip
        facts = json.loads(seeded.stdout.strip().splitlines()[-1])
        server = Gunicorn(env, workers=2)
        try:
            p50, p99 = latency(server.port, "/health/live", args.requests)
            print(f"baseline /health/live: p50 {p50:.1f} ms, p99 {p99:.1f} ms (the floor of any request here)")
            oembed = f"/oembed?url=http%3A%2F%2F127.0.0.1%3A{server.port}%2Fembed%2Fepisode%2F{facts['episode']}%2F"
            p50, p99 = latency(server.port, oembed, args.requests)
            print(f"oEmbed of an episode: p50 {p50:.1f} ms, p99 {p99:.1f} ms (warm)")
            for article in ("one", "fifty"):
                path = f"/api/v1/articles/{article}/media"
                p50, p99 = latency(server.port, path, args.requests)
                rps = throughput(server.port, path, args.seconds)
                items = 1 if article == "one" else 50
                print(f"article with {items:>2} items: p50 {p50:.1f} ms, p99 {p99:.1f} ms (sequential, "
                      f"{args.requests} req, warm; target {'3' if items == 1 else '6'} ms); {rps:.0f} req/s "
                      "(4 threads, 2 workers)")  # fmt: skip
                etag = http_get(server.port, path)[1]["etag"]
                p50, p99 = latency(server.port, path, args.requests, {"If-None-Match": etag})
                print(f"  the same with If-None-Match (304): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        finally:
            server.stop()
        if args.upload_mb <= 0:
            return
        try:
            upload(env, facts["token"], facts["episode"], args.upload_mb * 1024 * 1024)
        except AssertionError:
            print((Path(tmp) / "gunicorn.log").read_text()[-3000:])
            raise


if __name__ == "__main__":
    main()
