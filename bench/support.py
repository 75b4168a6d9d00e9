"""What the benchmarks share: a real gunicorn on 127.0.0.1, plain HTTP GETs, and phases measured in forked
processes (so each phase's ffmpeg children report their own peak RSS).

    server = Gunicorn(env, workers=2, extra=("-k", "gthread", "--threads", "4"))
    status, headers, body = http_get(server.port, "/health/live")
    phase = measure(lambda: run_the_phase())   # wall_s, children_rss_kib, self_rss_kib, cpu_s
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import resource
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
# The settings refuse a SECRET_KEY under 32 characters; a bench's throwaway deployment gets a fresh one per run.
BENCH_KEY = secrets.token_urlsafe(48)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One GET on a new connection: status, headers (lower-case names) and body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


class Gunicorn:
    """``media_hub.wsgi`` under gunicorn on a free port, logging to ``$MEDIA_HUB_VAR_DIR/gunicorn.log``; ready once
    /health/live answers."""

    def __init__(self, env: dict[str, str], workers: int, *, extra: Sequence[str] = (), timeout_s: int = 600) -> None:
        self.port = free_port()
        log = open(Path(env["MEDIA_HUB_VAR_DIR"]) / "gunicorn.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "media_hub.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", str(workers),
             *extra, "--timeout", str(timeout_s), "--log-level", "warning"],
            cwd=ROOT, env=env, stderr=log,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if http_get(self.port, "/health/live")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server's worker processes so far (from /proc)."""
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Phase(NamedTuple):
    """One measured phase: wall time, peak RSS of its child processes and of itself (KiB), CPU seconds."""

    wall_s: float
    children_rss_kib: int
    self_rss_kib: int
    cpu_s: float  # user + system, of the phase's process and all its children


def _phase(fn: Callable[[], None], queue: multiprocessing.Queue) -> None:
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    children, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    cpu = children.ru_utime + children.ru_stime + me.ru_utime + me.ru_stime
    queue.put(Phase(elapsed, children.ru_maxrss, me.ru_maxrss, cpu))


def measure(fn: Callable[[], None]) -> Phase:
    """Run fn in a forked process and measure it (see Phase)."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_phase, args=(fn, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result
