"""Typed errors raised by the media pipeline; all subclass ``MediaError``."""

from __future__ import annotations

from collections.abc import Sequence


class MediaError(Exception):
    """Base class for everything the media pipeline raises on purpose."""


class MediaRejected(MediaError):
    """The input is not something we process; ``reason`` is meant for the producer who uploaded it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProbeError(MediaError):
    """The probe child crashed, timed out or printed something unexpected."""


class ProbeStarved(ProbeError):
    """The probe ran out of wall-clock time while barely using the CPU: the machine was busy, not the file
    hostile (a file that keeps the probe busy is rejected instead). Worth another attempt later."""


class FFmpegError(MediaError):
    """An ffmpeg run failed, timed out or stalled; carries the tail of its stderr."""

    def __init__(
        self,
        reason: str,
        *,
        argv: Sequence[str] = (),
        returncode: int | None = None,
        stderr_tail: str = "",
    ) -> None:
        super().__init__(f"{reason}\n{stderr_tail}" if stderr_tail else reason)
        self.reason = reason
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class FFmpegTimeout(FFmpegError):
    """An ffmpeg run exceeded its time budget or made no progress for too long."""
