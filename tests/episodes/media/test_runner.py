"""Runner: progress parsing, timeout, stall detection and typed errors with stderr's tail."""

from __future__ import annotations

import sys
import time

import pytest

from episodes.media.errors import FFmpegError, FFmpegTimeout
from episodes.media.runner import explain, run

from .conftest import FFMPEG

HEAD = [FFMPEG, "-hide_banner", "-nostdin", "-y", "-nostats", "-loglevel", "error", "-progress", "pipe:2"]


def test_progress_reaches_100_and_is_monotonic() -> None:
    seen: list[float] = []
    argv = [*HEAD, "-f", "lavfi", "-i", "sine=d=20", "-af", "aecho", "-f", "null", "-"]
    result = run(argv, duration_s=20, timeout_s=60, stall_s=30, on_progress=seen.append, poll_s=0.01)
    assert result.returncode == 0 and result.max_rss_kb > 0
    assert seen[-1] == 100.0 and seen == sorted(seen)


def test_stdout_sink_receives_raw_output() -> None:
    chunks: list[bytes] = []
    argv = [*HEAD, "-f", "lavfi", "-i", "sine=d=1:sample_rate=8000", "-f", "s16le", "-ac", "1", "pipe:1"]
    run(argv, duration_s=1, stdout_sink=chunks.append)
    assert sum(map(len, chunks)) == 16000


def test_failure_raises_typed_error_with_reason_and_tail(tmp_path) -> None:
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"\x00" * 1000)
    argv = [*HEAD, "-protocol_whitelist", "file", "-f", "mp3", "-i", str(bad), "-f", "null", "-"]
    with pytest.raises(FFmpegError) as info:
        run(argv, duration_s=1, timeout_s=30)
    err = info.value
    assert err.returncode not in (0, None) and err.argv == argv
    assert err.reason and err.stderr_tail
    assert not isinstance(err, FFmpegTimeout)


def test_timeout_kills_a_run_that_is_progressing_slowly() -> None:
    argv = [*HEAD, "-re", "-f", "lavfi", "-i", "sine=d=60", "-f", "null", "-"]  # -re: real-time pace
    started = time.monotonic()
    with pytest.raises(FFmpegTimeout, match="longer than 1 s"):
        run(argv, duration_s=60, timeout_s=1.0, stall_s=30)
    assert time.monotonic() - started < 5


def test_stall_without_progress_is_killed() -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    started = time.monotonic()
    with pytest.raises(FFmpegTimeout, match="no progress for 1 s"):
        run(argv, duration_s=10, timeout_s=60, stall_s=1.0)
    assert time.monotonic() - started < 5


def test_explain_maps_known_failures() -> None:
    assert explain(["x", "No space left on device"], 1) == "The server ran out of disk space while processing."
    assert explain(["boom"], 1) == "ffmpeg failed (exit status 1): boom"
