"""Limits and tuning for the media pipeline, as one frozen dataclass.

Usage::

    from django.conf import settings
    from episodes.media.config import MediaConfig

    config = MediaConfig.from_settings(settings)   # or MediaConfig(max_bytes=..., ...)
    exe = config.ffmpeg_exe()
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

GIB = 1024**3

# Demuxers we accept (names as libavformat reports them). Everything else is rejected before any
# stream is opened: playlists (hls, concat), image pipes, network-capable or exotic demuxers.
DEFAULT_INPUT_FORMATS: tuple[str, ...] = (
    "mov",
    "mp4",
    "m4a",
    "3gp",
    "3g2",
    "mj2",
    "matroska",
    "webm",
    "mp3",
    "wav",
    "flac",
    "ogg",
    "aac",
    "aiff",
    "avi",
    "mpegts",
)


@dataclass(frozen=True, slots=True)
class MediaConfig:
    """Everything the pipeline may be tuned with; build it once from Django settings."""

    max_bytes: int = 4 * GIB
    max_duration_s: float = 4 * 3600.0
    max_width: int = 4096
    max_height: int = 4096
    probe_timeout_s: float = 30.0
    ffmpeg_binary: str | None = None
    input_formats: tuple[str, ...] = DEFAULT_INPUT_FORMATS
    # Resource limits applied inside the probe child (setrlimit).
    probe_max_memory_bytes: int = 2 * GIB
    probe_max_cpu_s: int = 60
    # Runner: overall timeout = base + factor * media duration; a run whose progress stalls is killed.
    timeout_base_s: float = 120.0
    timeout_per_media_s: float = 6.0
    stall_timeout_s: float = 120.0
    # Loudness target (EBU R128 podcast practice: -16 LUFS integrated, true peak <= -1 dBTP).
    target_lufs: float = -16.0
    target_true_peak_db: float = -1.0
    # Video.
    ladder_heights: tuple[int, ...] = (1080, 720, 480, 360)
    x264_preset: str = "veryfast"
    x264_crf: int = 23
    keyframe_interval_s: int = 2
    hls_segment_s: int = 6
    # CPUs the ladder encode may use (x264 threads are shared out between the rungs); 0: this process's CPUs.
    encode_cpus: int = 0
    storyboard_max_tiles: int = 100
    storyboard_columns: int = 10
    # Waveform (BBC audiowaveform JSON): PCM decoded at this rate, this many points per second.
    waveform_sample_rate: int = 8000
    waveform_pixels_per_second: int = 10

    def ffmpeg_exe(self) -> str:
        """Return the ffmpeg binary to run (settings value, else the imageio-ffmpeg static build)."""
        if self.ffmpeg_binary:
            return self.ffmpeg_binary
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())

    def cpus(self) -> int:
        """Return the CPUs an encode may use: ``encode_cpus``, else those this process may run on."""
        if self.encode_cpus > 0:
            return self.encode_cpus
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> MediaConfig:
        """Build from an object with Django-style upper-case attributes; missing ones keep defaults."""
        mapping = {
            "ffmpeg_binary": "FFMPEG_BINARY",
            "max_bytes": "MEDIA_MAX_UPLOAD_BYTES",
            "max_duration_s": "MEDIA_MAX_DURATION_SECONDS",
            "max_width": "MEDIA_MAX_WIDTH",
            "max_height": "MEDIA_MAX_HEIGHT",
            "probe_timeout_s": "MEDIA_PROBE_TIMEOUT_SECONDS",
        }
        values: dict[str, Any] = {}
        for attr, setting in mapping.items():
            value = getattr(settings, setting, None)
            if value is not None and value != "":
                values[attr] = value
        values.update(overrides)
        return cls(**values)
