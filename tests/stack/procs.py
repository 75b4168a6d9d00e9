"""Real processes for the production-stack tests: Celery workers, a private Redis, and pointing this process's
Celery producer at another broker."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, need

ROOT = Path(__file__).resolve().parents[2]


def redis_broker_url() -> str:
    """The Redis broker the settings name, or a skip (a failure in CI) when the run is on the embedded default."""
    from django.conf import settings

    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith("redis://"):
        need("Redis", "CELERY_BROKER_URL is not a redis:// URL (the production-stack run sets it)")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        need("Redis", f"{url} does not answer: {exc!r}")
    return url


class Workers:
    """Celery worker processes (solo pool: one job at a time each, like one core per job) writing JSON logs."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self,
        name: str,
        *,
        queues: str = "media,control,default",
        env: dict[str, str] | None = None,
        concurrency: int = 0,
    ) -> Any:
        """Start a worker: solo pool by default, or the production shape (prefork, ``concurrency`` children, with
        Celery's gossip, mingle and broker heartbeats) when ``concurrency`` is given."""
        log = (self.log_dir / f"{name}.log").open("ab")
        pool = (
            ["--concurrency", str(concurrency)]
            if concurrency
            else ["--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "media_hub",
                "worker",
                *pool,
                "--queues",
                queues,
                "--hostname",
                f"{name}@%h",
                "--loglevel",
                "INFO",
            ],  # fmt: skip
            cwd=ROOT,
            env={**self.env, **(env or {})},
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def log_lines(self, name: str) -> list[dict[str, Any]]:
        """The worker's log lines that are JSON objects (Celery's start-up banner is not)."""
        lines = []
        for raw in (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                item = json.loads(raw)
                if isinstance(item, dict):
                    lines.append(item)
        return lines

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


class Beats:
    """``celery beat`` processes (the production command), each with its own schedule file, writing JSON logs."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> subprocess.Popen[bytes]:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "media_hub", "beat", "--loglevel", "INFO",
                 "--schedule", str(self.log_dir / f"{name}-schedule")],  # fmt: skip
                cwd=ROOT, env=self.env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.procs[name] = proc
        return proc

    def sent(self, name: str, entry: str) -> int:
        """How many times this beat sent the schedule entry ``entry`` (its "Sending due task" log lines)."""
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text.count(f"Sending due task {entry} ")

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def kill(self, name: str) -> None:
        """SIGKILL: the beat machine died (no clean hand-over of the lease)."""
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


class FfmpegGate:
    """A stand-in ffmpeg (the FFMPEG_BINARY setting) that holds every video encode until the test opens the gate.

    "While it encodes" is then a state the test controls, not a race with the machine's speed: on a fast machine a
    small clip is done before the test can break anything. Probes and analysis pass straight through; a held encode
    waits at most `hold_s` (a forgotten gate cannot hang a worker), and the gate opens by itself on exit.
    """

    def __init__(self, directory: Path, hold_s: float = 60.0) -> None:
        from episodes.media_config import ffmpeg_binary

        directory.mkdir(parents=True, exist_ok=True)
        self.closed_flag = directory / "gate-closed"
        self.binary = directory / "ffmpeg-gated"
        flag, real = shlex.quote(str(self.closed_flag)), shlex.quote(ffmpeg_binary())
        self.binary.write_text(
            "#!/bin/sh\n"
            f'case " $* " in *" libx264 "*)\n'
            f"  n=0; while [ -e {flag} ] && [ $n -lt {int(hold_s * 20)} ]; do sleep 0.05; n=$((n + 1)); done;;\n"
            "esac\n"
            f'exec {real} "$@"\n'
        )
        self.binary.chmod(0o755)
        self.close()

    @property
    def env(self) -> dict[str, str]:
        return {"FFMPEG_BINARY": str(self.binary)}

    def close(self) -> None:
        self.closed_flag.touch()

    def open(self) -> None:
        self.closed_flag.unlink(missing_ok=True)

    def __enter__(self) -> FfmpegGate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.open()


class PrivateRedis:
    """A throw-away redis-server on a free loopback port, without persistence (a restart loses every message)."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            need("Redis", "redis-server is not installed")
        self.binary = str(binary)
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        with (self.root / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.root),
                ],  # fmt: skip
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: _pings(client), 10, "the private redis-server to answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - not up yet
        return False


@contextlib.contextmanager
def producer_on(broker_url: str) -> Iterator[None]:
    """Send this process's Celery messages to ``broker_url`` (the settings' broker again afterwards)."""
    from media_hub.celery import app as celery_app

    app: Any = celery_app  # private attributes: the producer pool is cached on first use
    saved = (app.conf.broker_url, app.conf.broker_transport_options, app._pool, app.amqp._producer_pool)
    saved_env = os.environ.get("CELERY_BROKER_URL")

    def switch(url: str, options: Any, pool: Any, producers: Any) -> None:
        # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
        os.environ["CELERY_BROKER_URL"] = url
        app.conf.broker_url, app.conf.broker_transport_options = url, options
        app._pool, app.amqp._producer_pool = pool, producers

    switch(broker_url, {"visibility_timeout": 3600, "max_retries": 0}, None, None)
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        switch(*saved)
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)


def purge(broker_url: str) -> None:
    """Drop messages left by earlier runs: their job ids may name rows of this run's fresh test database."""
    import redis

    client = redis.Redis.from_url(broker_url)
    client.delete("media", "control", "default", "unacked", "unacked_index")


def wait_for(predicate: Callable[[], bool], timeout: float, what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what() if callable(what) else what}")
