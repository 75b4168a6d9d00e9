"""Benchmark members' private feeds against the public feed, in the same run, with 100,000 members.

1. Warm ``GET /members/<token>/feeds/<slug>.xml`` per second (each request a different member's token, as 100,000
   apps polling would be) against warm ``GET /feeds/<slug>.xml`` (identity, as members' feeds are sent), over real
   HTTP (gunicorn on 127.0.0.1, keep-alive clients). Target: a member request takes ≤ 1.5 × a public one.
2. Memory: RSS of each web process after the public load, and after member requests from many distinct members.

The show is bench_feed's 2,000-episode show plus 20 member-only episodes. Run:
``uv run python bench/bench_members.py`` (``--episodes 2000 --members 100000 --seconds 3 --repeat 3``).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_feed import SLUG, seed
from support import BENCH_KEY, ROOT, Gunicorn, http_get, loadavg


def seed_members(episodes: int, members: int, tokens_file: str) -> None:
    """Runs inside the benchmark's environment: the feed show, member-only episodes and ``members`` members."""
    seed(episodes)
    from django.utils import timezone

    from episodes.models import Episode
    from members.models import Member
    from members.services import new_token

    Episode.objects.filter(show__slug=SLUG, number__lte=20).update(members_only=True)
    now = timezone.now()
    rows = [Member(external_id=f"m-{n}", token=new_token(), granted_at=now) for n in range(members)]
    Member.objects.bulk_create(rows, batch_size=2000)
    Path(tokens_file).write_text("\n".join(m.token for m in rows[:: max(1, members // 5000)]))


def cycle(port: int, paths: list[str], seconds: float, max_requests: int, threads: int) -> float:
    """Requests per second of ``threads`` keep-alive clients, each going round ``paths`` (bounded in time and count)."""
    counts = [0] * threads
    stop_at = time.monotonic() + seconds

    def run(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while time.monotonic() < stop_at and counts[i] < max_requests // threads:
                conn.request("GET", paths[(i + counts[i] * threads) % len(paths)])
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"{response.status}")
                counts[i] += 1
        finally:
            conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


def rss_kib(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out.append(int(line.split()[1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if args.seed:
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        seed_members(int(args.seed[0]), int(args.seed[1]), args.seed[2])
        return
    with tempfile.TemporaryDirectory(prefix="bench-members-") as tmp:
        env = {**os.environ, "MEDIA_HUB_VAR_DIR": tmp, "SECRET_KEY": BENCH_KEY, "DEBUG": "0", "LOG_LEVEL": "WARNING",
               "MEDIA_ROOT": f"{tmp}/media", "MEDIA_WORK_DIR": f"{tmp}/work", "PUBLIC_BASE_URL":
               "https://news.example.com", "DJANGO_SETTINGS_MODULE": "media_hub.settings"}  # fmt: skip
        env = {k: v for k, v in env.items() if not k.startswith(("S3_", "DATABASE_URL", "WEBSUB_"))}
        for folder in ("broker/processed", "broker/control"):
            Path(tmp, folder).mkdir(parents=True)
        tokens_file = f"{tmp}/tokens.txt"
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--seed", str(args.episodes), str(args.members), tokens_file],
                       env=env, cwd=ROOT, check=True)  # fmt: skip
        tokens = Path(tokens_file).read_text().split()
        print(f"seeded {args.episodes} episodes and {args.members} members in {time.perf_counter() - started:.1f} s")
        threaded = ("-k", "gthread", "--threads", str(args.threads), "--keep-alive", "30")
        server = Gunicorn(env, args.workers, extra=threaded, timeout_s=120)
        try:
            public_path = f"/feeds/{SLUG}.xml"
            member_paths = [f"/members/{token}/feeds/{SLUG}.xml" for token in tokens]
            status, _, public_body = http_get(server.port, public_path)
            status_m, headers_m, member_body = http_get(server.port, member_paths[0])
            assert status == 200 and status_m == 200, (status, status_m)
            assert headers_m["cache-control"] == "private, no-cache"
            for _ in range(args.workers * 4):  # warm every worker's caches
                http_get(server.port, public_path)
                http_get(server.port, member_paths[0])
            rss_before = rss_kib(server.worker_pids())
            urls = member_body.count(tokens[0].encode())
            print(f"public feed {len(public_body) / 1024:.0f} KiB, member feed {len(member_body) / 1024:.0f} KiB "
                  f"({member_body.count(b'<item>')} items, {urls} token URLs)")  # fmt: skip
            sample = member_paths[:200]
            for path in sample * (args.workers * 3):  # a member's first request in each process notes its network
                http_get(server.port, path)  # and app (one insert): that is not a warm request
            public_rates, member_rates = [], []
            for _ in range(args.repeat):  # interleaved, so load on the shared machine hits both alike
                public_rates.append(cycle(server.port, [public_path], args.seconds, args.max_requests, args.threads))
                member_rates.append(cycle(server.port, sample, args.seconds, args.max_requests, args.threads))
            public, member = statistics.median(public_rates), statistics.median(member_rates)
            print(f"warm public feed: {public:7.1f} req/s ({1000 / public:.2f} ms a request); load {loadavg()}")
            print(f"warm member feed: {member:7.1f} req/s ({1000 / member:.2f} ms a request)")
            print(f"member / public time: {public / member:.3f}× (target ≤ 1.5×)")
            for path in member_paths:  # many distinct members: what per-member state does a process keep?
                http_get(server.port, path)
            rss_after = rss_kib(server.worker_pids())
            print(f"RSS per web process (KiB): after warm-up {rss_before}, after {len(member_paths)} distinct "
                  f"members' feeds {rss_after}")  # fmt: skip
        finally:
            server.stop()


if __name__ == "__main__":
    main()
