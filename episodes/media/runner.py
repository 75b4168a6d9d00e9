"""Run one ffmpeg argv: no shell, a duration-scaled timeout, stall detection and parsed progress.

Usage::

    from episodes.media.runner import run

    result = run(argv, duration_s=120.0, timeout_s=900, stall_s=60, on_progress=lambda pct: print(pct))
    result.elapsed_s, result.max_rss_kb, result.stderr_lines[-5:]

The argv should carry ``-progress pipe:1`` (the builders in ``ffmpeg.py`` and ``video_argv.py`` add it), or
``-progress pipe:2`` when stdout carries raw data to ``stdout_sink``; progress lines are recognised on either
stream and kept out of ``stderr_lines``. Callbacks run on the calling thread.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from .errors import FFmpegError, FFmpegTimeout

ProgressFn = Callable[[float], None]
_PROGRESS_LINE = re.compile(r"^([a-z_0-9]+)=(.*)$")
_PROGRESS_KEYS = {
    "frame", "fps", "bitrate", "total_size", "out_time_us", "out_time_ms", "out_time", "dup_frames",
    "drop_frames", "speed", "progress",
}  # fmt: skip
_REASONS = (
    ("No space left on device", "The server ran out of disk space while processing."),
    ("Invalid data found when processing input", "The file is damaged or incomplete."),
    ("Error while decoding", "The file is damaged: part of it could not be decoded."),
    ("Cannot allocate memory", "Processing this file needed more memory than allowed."),
    ("Protocol not on whitelist", "The file tried to make us open another file or URL; refused."),
)


@dataclass(frozen=True, slots=True)
class RunResult:
    """A finished ffmpeg run: its log lines (progress removed), wall time and peak RSS in KiB."""

    argv: tuple[str, ...]
    returncode: int
    elapsed_s: float
    max_rss_kb: int
    stderr_lines: tuple[str, ...]


class _State:
    def __init__(self, keep_lines: int) -> None:
        self.lock = threading.Lock()
        self.lines: deque[str] = deque(maxlen=keep_lines)
        self.out_time_us = 0
        self.total_size = ""
        self.finished = False
        self.last_activity = time.monotonic()
        self.sink_error: BaseException | None = None

    def progress(self, key: str, value: str) -> None:
        with self.lock:
            if key == "out_time_us" and value.strip().lstrip("-").isdigit():
                us = int(value)
                if us > self.out_time_us:
                    self.out_time_us, self.last_activity = us, time.monotonic()
            elif key == "total_size" and value != self.total_size:
                self.total_size, self.last_activity = value, time.monotonic()
            elif key == "progress" and value.strip() == "end":
                self.finished = True


def _read_lines(stream: IO[bytes], state: _State) -> None:
    for raw in stream:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        match = _PROGRESS_LINE.match(line)
        if match and (match.group(1) in _PROGRESS_KEYS or match.group(1).startswith("stream_")):
            state.progress(match.group(1), match.group(2))
        elif line.strip():
            with state.lock:
                state.lines.append(line)


def _read_stdout(stream: IO[bytes], sink: Callable[[bytes], None], state: _State) -> None:
    try:
        while chunk := stream.read(1 << 16):
            sink(chunk)
            state.last_activity = time.monotonic()
    except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread
        state.sink_error = exc
        stream.close()


def explain(lines: Sequence[str], returncode: int | None) -> str:
    """Turn ffmpeg's last log lines into one sentence a producer or an operator can act on."""
    text = "\n".join(lines)
    for needle, reason in _REASONS:
        if needle in text:
            return reason
    last = next((line.strip() for line in reversed(lines) if line.strip()), "no output")
    return f"ffmpeg failed (exit status {returncode}): {last}"


def run(
    argv: Sequence[str],
    *,
    duration_s: float | None = None,
    timeout_s: float | None = None,
    stall_s: float | None = None,
    on_progress: ProgressFn | None = None,
    stdout_sink: Callable[[bytes], None] | None = None,
    keep_lines: int = 200,
    poll_s: float = 0.1,
) -> RunResult:
    """Run argv to completion or raise FFmpegError/FFmpegTimeout (the process is killed first)."""
    state = _State(keep_lines)
    start = time.monotonic()
    proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None  # noqa: S101 - narrowing for mypy
    readers = [threading.Thread(target=_read_lines, args=(proc.stderr, state), daemon=True)]
    if stdout_sink is not None:
        assert proc.stdout is not None  # noqa: S101
        readers.append(threading.Thread(target=_read_stdout, args=(proc.stdout, stdout_sink, state), daemon=True))
    for reader in readers:
        reader.start()
    killed: str | None = None
    reported = -1.0
    status, rusage = 0, None
    try:
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.monotonic()
            if killed is None:
                if timeout_s is not None and now - start > timeout_s:
                    killed = f"ffmpeg took longer than {timeout_s:.0f} s and was stopped."
                elif stall_s is not None and now - state.last_activity > stall_s:
                    killed = f"ffmpeg made no progress for {stall_s:.0f} s and was stopped."
                elif state.sink_error is not None:
                    killed = f"reading ffmpeg's output failed: {state.sink_error!r}"
                if killed is not None:
                    proc.send_signal(signal.SIGKILL)
            if on_progress is not None and duration_s:
                percent = min(100.0, state.out_time_us / 1e4 / duration_s)
                if percent >= reported + 0.5:
                    reported = percent
                    on_progress(percent)
            time.sleep(poll_s)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(timeout=5)
    elapsed = time.monotonic() - start
    lines = tuple(state.lines)
    tail = "\n".join(lines[-25:])
    if killed is not None:
        raise FFmpegTimeout(killed, argv=argv, returncode=proc.returncode, stderr_tail=tail)
    if state.sink_error is not None:
        raise FFmpegError(f"reading ffmpeg's output failed: {state.sink_error!r}", argv=argv, stderr_tail=tail)
    if proc.returncode != 0:
        raise FFmpegError(explain(lines, proc.returncode), argv=argv, returncode=proc.returncode, stderr_tail=tail)
    if on_progress is not None and reported < 100.0:
        on_progress(100.0)
    return RunResult(
        argv=tuple(argv),
        returncode=proc.returncode,
        elapsed_s=elapsed,
        max_rss_kb=rusage.ru_maxrss if rusage is not None else 0,
        stderr_lines=lines,
    )
