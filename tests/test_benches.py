"""Every benchmark in bench/ still runs to its end, at tiny sizes.

The figures are not judged here (speed targets are read from real bench runs, never from timed tests); this only
keeps the benches working as the code moves on: four of them once stopped at start-up for a session unnoticed,
when the settings began to refuse short secret keys.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "bench"

# (script, tiny arguments, a line its report always prints)
CASES = [
    ("bench_api.py", ["--requests", "30", "--seconds", "0.3", "--upload-mb", "4"], "article with 50 items"),
    ("bench_members.py", ["--episodes", "30", "--members", "200", "--seconds", "0.3", "--repeat", "1",
                          "--max-requests", "200"], "member / public time"),
    ("bench_counting.py", ["--requests", "20", "--rounds", "1", "--listeners", "50"], "ratio of p50s"),
    ("bench_feed.py", ["--episodes", "30", "--seconds", "0.3", "--repeat", "1"], "warm / static"),
    ("bench_clips.py", ["--seconds", "3"], "vertical 1080x1920"),
    ("bench_retag.py", ["--minutes", "0.2", "--rounds", "1"], "ratio retag/copy"),
    ("bench_audio.py", ["--minutes", "0.2", "--rounds", "1"], "ratio ours / baseline"),
    ("bench_video_ladder.py", ["--seconds", "2", "--rounds", "1", "--preset", "ultrafast"], "ratio ours / baseline"),
    ("bench_chunked.py", ["--seconds", "12", "--chunks", "2", "--vmaf-every", "6"], "critical path, CPU-s"),
]  # fmt: skip


def bench_env() -> dict[str, str]:
    """The benches make their own throwaway deployments; none may touch the test run's database or bucket."""
    drop = ("DATABASE_URL", "S3_", "CELERY_BROKER_URL")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def run_bench(script: str, args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=BENCH.parent, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{output[-4000:]}"
    return output


@pytest.mark.parametrize(("script", "args", "reports"), CASES, ids=[c[0] for c in CASES])
def test_the_bench_runs_to_its_report(script: str, args: list[str], reports: str) -> None:
    output = run_bench(script, args, bench_env())
    assert reports in output, output[-4000:]


@pytest.mark.redis
def test_the_worker_pool_bench_runs_on_redis() -> None:
    from tests.stack.procs import redis_broker_url

    url = redis_broker_url()  # a skip on a laptop without Redis; a failure in CI
    own = urlsplit(url)._replace(path="/13").geturl()  # its own database: the bench purges its queues
    output = run_bench("bench_workers.py", ["--jobs", "2", "--workers", "1", "--redis", own], bench_env())
    assert "Celery workers on Redis" in output and "speedup" in output, output[-4000:]
