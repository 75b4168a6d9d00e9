"""Smoke test of the README's run command on the embedded default (SQLite, local disk, file-system broker)."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_settings import CLEAN_ENV, ROOT

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_run_serves_admin_health_and_api_then_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run", "--port", str(port), "--demo", "--web-workers", "1"],
        cwd=ROOT,
        env={**CLEAN_ENV, "MEDIA_HUB_VAR_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        status = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, body = get(f"{base}/health/ready")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert status == 200, f"never became ready; exit={proc.poll()}"
        checks = json.loads(body)["checks"]
        assert all(c["ok"] for c in checks.values()), checks
        assert get(f"{base}/admin/login/")[0] == 200
        assert get(f"{base}/static/admin/css/base.css")[0] == 200
        status, body = get(f"{base}/api/v1/shows")
        assert status == 200 and json.loads(body)[0]["title"] == "Ukraine Insights"
        # The demo's generated episode and video go through the real pipeline on the embedded worker, then
        # appear (published) in the article API and the feed, and the enclosure serves byte ranges.
        items: list[dict[str, object]] = []
        while time.monotonic() < deadline + 240 and len(items) < 2 and proc.poll() is None:
            status, body = get(f"{base}/api/v1/articles/demo-article-1/media")
            items = json.loads(body)["items"] if status == 200 else []
            time.sleep(1)
        assert [item["type"] for item in items] == ["video", "episode"], items
        status, feed = get(f"{base}/feeds/ukraine-insights.xml")
        assert status == 200 and "Україна: тиждень 1".encode() in feed
        enclosure = re.search(rb'<enclosure url="([^"]+)" length="(\d+)" type="audio/mpeg"', feed)
        assert enclosure is not None
        request = urllib.request.Request(enclosure.group(1).decode(), headers={"Range": "bytes=0-9"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            assert response.status == 206 and response.read()[:3] == b"ID3"
        # The embedded worker consumes every queue and runs the one beat (its lease on SQLite): nothing is missing.
        status, body = get(f"{base}/health/status")
        assert status == 200 and json.loads(body)["missing"] == [], body
        assert (tmp_path / "media_hub.sqlite3").exists()
        assert (tmp_path / "secret_key").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            pytest.fail(f"run did not stop within 60 s of Ctrl-C:\n{output[-3000:]}")
    assert proc.returncode == 0, output[-3000:]
    assert "Admin:" in output and "API docs:" in output and "Stopped." in output
    with pytest.raises(OSError):
        get(f"{base}/health/live")
