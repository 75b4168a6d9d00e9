"""The bridge from Django settings to the media library's configuration."""

from __future__ import annotations

from django.conf import settings


def ffmpeg_binary() -> str:
    """FFMPEG_BINARY if set, else the static ffmpeg shipped in the imageio-ffmpeg wheel."""
    if settings.FFMPEG_BINARY:
        return str(settings.FFMPEG_BINARY)
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())
