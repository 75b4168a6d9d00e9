"""WebVTT thumbnails track for a storyboard sprite (the ``#xywh=`` media-fragment convention).

Usage::

    text = storyboard_vtt(plan.images, plan.duration, "storyboard.jpg")
    # WEBVTT
    #
    # 00:00:00.000 --> 00:00:01.000
    # storyboard.jpg#xywh=0,0,160,90
"""

from __future__ import annotations

from .plan import ImagePlan


def vtt_time(seconds: float) -> str:
    """Format seconds as a WebVTT timestamp, HH:MM:SS.mmm."""
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms % 3_600_000 // 60_000:02d}:{ms % 60_000 // 1000:02d}.{ms % 1000:03d}"


def storyboard_vtt(images: ImagePlan, duration: float, sprite: str) -> str:
    """One cue per tile, left to right, top to bottom, each covering one sampling interval.

    ``duration`` is what was written: a damaged upload whose header promised more gets no cues past its end
    (the sprite's tiles for the missing part stay blank and unreferenced).
    """
    lines = ["WEBVTT", ""]
    for i in range(images.tile_count):
        start = i * images.tile_interval_s
        if i and start >= duration:
            break
        end = max(min((i + 1) * images.tile_interval_s, duration), start + 0.001)
        x, y = (i % images.columns) * images.tile_width, (i // images.columns) * images.tile_height
        lines += [
            f"{vtt_time(start)} --> {vtt_time(end)}",
            f"{sprite}#xywh={x},{y},{images.tile_width},{images.tile_height}",
            "",
        ]
    return "\n".join(lines)
