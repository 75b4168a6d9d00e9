"""Decide which renditions to make, as plain data (no ffmpeg runs here).

Usage::

    from episodes.media.plan import plan

    p = plan(probe_result, MediaConfig())
    [r.name for r in p.rungs]      # ["720p", "480p", "360p"] for a 1280×720 upload
    [a.kind for a in p.audio]      # ["audio_mp3", "audio_aac", "audio_opus"] for an audio upload
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Literal

from .config import MediaConfig
from .errors import MediaRejected
from .probe import ProbeResult

# Peak bitrate caps per rung (short side → maxrate, bit/s), in line with Apple's HLS authoring
# spec 1.13 ladder for 30 fps; 50/60 fps rungs get 1.5×.
_MAXRATE = {1080: 6_000_000, 720: 3_500_000, 480: 1_500_000, 360: 900_000}
_TINY_MAXRATE = 600_000
# H.264 levels as (name, max frame size in macroblocks, max macroblocks per second) from Annex A.
_LEVELS = (
    ("3.0", 1620, 40500),
    ("3.1", 3600, 108000),
    ("3.2", 5120, 216000),
    ("4.0", 8192, 245760),
    ("4.2", 8704, 522240),
    ("5.1", 36864, 983040),
    ("5.2", 36864, 2073600),
)
_COMMON_RATES = (15, 24, 25, 30, 48, 50, 60)


@dataclass(frozen=True, slots=True)
class AudioEncode:
    """One audio output file of the encode pass."""

    kind: str
    filename: str
    encoder: str
    muxer: str
    bitrate: int
    sample_rate: int
    channels: int
    mime: str
    codec: str


@dataclass(frozen=True, slots=True)
class VideoRung:
    """One H.264 rung: progressive MP4 ``filename`` and HLS variant ``name``."""

    name: str
    width: int
    height: int
    fps: Fraction
    gop: int
    level: str
    crf: int
    maxrate: int
    bufsize: int
    audio_bitrate: int
    filename: str
    threads: int = 1


@dataclass(frozen=True, slots=True)
class ImagePlan:
    """Poster, thumbnail and storyboard sprite geometry (all even sizes)."""

    poster_width: int
    poster_height: int
    thumb_width: int
    thumb_height: int
    poster_sample_fps: str
    poster_candidates: int
    tile_width: int
    tile_height: int
    tile_interval_s: int
    tile_count: int
    columns: int
    rows: int


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the argv builders need; built by ``plan()`` from a probe result."""

    kind: Literal["audio", "video"]
    source: Path
    demuxer: str
    duration: float
    audio_channels: int
    audio: tuple[AudioEncode, ...]
    audio_rate: int = 48000
    rungs: tuple[VideoRung, ...] = ()
    images: ImagePlan | None = None
    tone_map: bool = False
    # Decoder threads of the ladder encode (0: ffmpeg's choice, frame threads for every CPU + 1).
    decode_threads: int = 0
    preset: str = "veryfast"
    keyframe_interval_s: int = 2
    hls_segment_s: int = 6
    target_lufs: float = -16.0
    target_true_peak_db: float = -1.0

    @property
    def has_audio(self) -> bool:
        return self.audio_channels > 0


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def _fit(width: int, height: int, box: int) -> tuple[int, int]:
    """Scale (width, height) to fit a box×box square, keeping the aspect ratio, even sizes."""
    scale = min(1.0, box / max(width, height))
    return _even(width * scale), _even(height * scale)


def h264_level(width: int, height: int, fps: float) -> str:
    """Return the lowest H.264 level whose frame size and macroblock rate cover this rung."""
    frame_mbs = math.ceil(width / 16) * math.ceil(height / 16)
    for name, max_fs, max_mbps in _LEVELS:
        if frame_mbs <= max_fs and frame_mbs * fps <= max_mbps:
            return name
    return _LEVELS[-1][0]


def _source_fps(rate: float | None, vfr: bool) -> Fraction:
    if not rate or rate <= 0 or rate > 1000:
        return Fraction(30)
    if vfr:  # an irregular average (27.6) makes a poor CFR target; snap to a broadcast rate
        return Fraction(min(_COMMON_RATES, key=lambda r: abs(r - rate)))
    return Fraction(rate).limit_denominator(1001)


def _rung_fps(source: Fraction, short_side: int) -> Fraction:
    """Keep the source rate up to 60 (30 below 720p), halving/thirding so motion stays even."""
    cap = 60 if short_side >= 720 else 30
    divisor = max(1, math.ceil(source / cap - Fraction(1, 1000)))
    return source / divisor


# A source whose short side is this close below a rung (1279×719 under 720p) gets that rung at its own size:
# dropping to the next rung down would throw away a third of its lines.
NEAR_RUNG = 0.9


def _targets(short: int, heights: tuple[int, ...]) -> list[int]:
    """The rung heights for a source short side, highest first; a rung just above the source is kept."""
    ladder = sorted(set(heights), reverse=True)
    targets = [h for h in ladder if h <= short]
    above = [h for h in ladder if short < h and short >= NEAR_RUNG * h]
    if above:
        targets.insert(0, min(above))
    return targets or [short - short % 2]  # a tiny source still gets one rung at its own size


def _rungs(width: int, height: int, fps: Fraction, config: MediaConfig) -> tuple[VideoRung, ...]:
    portrait = height > width
    short, long = min(width, height), max(width, height)
    rungs = []
    for target in _targets(short, config.ladder_heights):
        if target > short:  # never upscaled: the source's own size, rounded down to even
            w, h = width - width % 2, height - height % 2
        else:
            other = _even(long * target / short)
            w, h = (target, other) if portrait else (other, target)
        rate = _rung_fps(fps, target)
        maxrate = _MAXRATE.get(target, _TINY_MAXRATE)
        if rate > 30:
            maxrate = maxrate * 3 // 2
        rungs.append(
            VideoRung(
                name=f"{target}p",
                width=w,
                height=h,
                fps=rate,
                gop=max(1, round(rate * config.keyframe_interval_s)),
                level=h264_level(w, h, float(rate)),
                crf=config.x264_crf,
                maxrate=maxrate,
                # A 2-second VBV buffer at maxrate keeps each 2 s GOP (and so each segment) under maxrate.
                bufsize=maxrate * 2,
                audio_bitrate=128_000 if target >= 480 else 96_000,
                filename=f"video_{target}p.mp4",
            )
        )
    return _share_threads(rungs, config.cpus())


def _share_threads(rungs: list[VideoRung], cpus: int) -> tuple[VideoRung, ...]:
    """Give each rung's x264 a share of the CPUs proportional to its pixel rate (at least one thread).

    All rungs encode at once in one process, so between them they already keep every CPU busy; x264's
    default (1.5 frame threads per CPU in each encoder: 12 for four rungs on 2 CPUs) adds frame-threading
    work and memory. On 2 CPUs (1080p gets 2 threads, the others one each), 8 alternating runs of the
    whole ladder on an 8 s 1080p clip took a median 6.4 s instead of 7.2 s, and peak RSS on 20 s fell from
    608 to 536 MiB.
    """
    rates = [r.width * r.height * float(r.fps) for r in rungs]
    total = sum(rates)
    return tuple(
        replace(r, threads=max(1, math.ceil(cpus * rate / total))) for r, rate in zip(rungs, rates, strict=True)
    )


def _images(rung: VideoRung, duration: float, config: MediaConfig) -> ImagePlan:
    thumb_w, thumb_h = _fit(rung.width, rung.height, 320)
    tile_w, tile_h = _fit(rung.width, rung.height, 160)
    interval = max(1, math.ceil(duration / config.storyboard_max_tiles))
    count = max(1, math.ceil(duration / interval))
    columns = min(config.storyboard_columns, count)
    seconds = max(1, math.ceil(duration))
    candidates = max(2, min(20, seconds))  # the thumbnail filter needs a batch of at least 2
    return ImagePlan(
        poster_width=rung.width,
        poster_height=rung.height,
        thumb_width=thumb_w,
        thumb_height=thumb_h,
        poster_sample_fps="1" if seconds <= 20 else f"20/{seconds}",
        poster_candidates=candidates,
        tile_width=tile_w,
        tile_height=tile_h,
        tile_interval_s=interval,
        tile_count=count,
        columns=columns,
        rows=math.ceil(count / columns),
    )


AacTrack = tuple[int, int, int]
"""One AAC encode of the normalised sound: (bit rate, sample rate, channels)."""


def aac_tracks(p: Plan) -> tuple[list[AacTrack], list[int], int | None]:
    """The distinct AAC encodes, the track each rung muxes, and the M4A's track (None: no M4A).

    Rungs (and the M4A) that ask for the same bit rate, rate and channels share one encode.
    """
    if not p.has_audio:
        return [], [], None
    m4a = next((enc for enc in p.audio if enc.muxer == "ipod"), None)
    wanted = [(r.audio_bitrate, 48000, 2) for r in p.rungs]
    if m4a is not None:
        wanted.append((m4a.bitrate, m4a.sample_rate, m4a.channels))
    tracks = list(dict.fromkeys(wanted))
    indexes = [tracks.index(key) for key in wanted]
    return tracks, indexes[: len(p.rungs)], (indexes[-1] if m4a is not None else None)


def _chain_rate(sample_rate: int | None) -> int:
    """Process at the source rate when it is a delivery rate (no resampling); otherwise at 48 kHz."""
    return sample_rate if sample_rate in (44100, 48000) else 48000


def _audio_outputs(channels: int, with_opus: bool, rate: int = 44100) -> tuple[AudioEncode, ...]:
    mono = channels == 1
    outputs = [
        AudioEncode("audio_mp3", "audio.mp3", "libmp3lame", "mp3", 128_000, 44100, channels, "audio/mpeg", "mp3"),
        AudioEncode(
            "audio_aac",
            "audio.m4a",
            "aac",
            "ipod",
            64_000 if mono else 96_000,
            rate,
            channels,
            "audio/mp4",
            "mp4a.40.2",
        ),
    ]
    if with_opus:
        outputs.append(
            AudioEncode(
                "audio_opus",
                "audio.opus",
                "libopus",
                "ogg",
                32_000 if mono else 64_000,
                48000,
                channels,
                "audio/ogg; codecs=opus",
                "opus",
            )
        )
    return tuple(outputs)


# Up to this pixel rate (1080p30) one decoder thread keeps far ahead of the ladder's encoders.
SINGLE_THREAD_DECODE_PIXELS_PER_S = 1920 * 1080 * 30


def ladder_decode_threads(width: int, height: int, fps: Fraction) -> int:
    """1 for sources up to 1080p30, else 0 (ffmpeg's choice).

    The ladder's encoders keep every CPU busy, so frame-threaded decoding only adds its own overhead: a 60 s
    1080p30 H.264 upload decoded in 5.4 CPU-s on one thread against 6.3 on three (13.6 against 14.5 at
    17 Mbit/s), and the whole ladder took ~1.4 % less CPU and wall time (three alternating pairs). One thread
    decodes such a source at 5–11× realtime while the ladder encodes at ~2×; a larger or faster source keeps
    the frame threads so its decode cannot become the bottleneck.
    """
    return 1 if width * height * float(fps) <= SINGLE_THREAD_DECODE_PIXELS_PER_S else 0


def plan(probe: ProbeResult, config: MediaConfig) -> Plan:
    """Return the rendition plan for an accepted probe result; raise MediaRejected for a rejected one."""
    if probe.kind == "rejected":
        raise MediaRejected(probe.reason or "This file cannot be processed.")
    audio = probe.audio
    channels = 0 if audio is None else (1 if audio.channels == 1 else 2)
    rate = _chain_rate(audio.sample_rate if audio is not None else None)
    base = Plan(
        kind="audio",
        source=probe.path,
        demuxer=probe.demuxer,
        duration=probe.duration,
        audio_channels=channels,
        audio=_audio_outputs(channels, with_opus=True, rate=rate),
        audio_rate=rate,
        preset=config.x264_preset,
        keyframe_interval_s=config.keyframe_interval_s,
        hls_segment_s=config.hls_segment_s,
        target_lufs=config.target_lufs,
        target_true_peak_db=config.target_true_peak_db,
    )
    if probe.kind == "audio":
        return base
    video = probe.video
    if video is None or not video.width or not video.height:
        raise MediaRejected("The video has no picture size we can read.")
    fps = _source_fps(video.frame_rate, video.vfr)
    rungs = _rungs(video.width, video.height, fps, config)
    return replace(
        base,
        kind="video",
        audio=_audio_outputs(channels, with_opus=False, rate=rate) if channels else (),
        rungs=rungs,
        images=_images(rungs[0], probe.duration, config),
        tone_map=video.hdr,
        decode_threads=ladder_decode_threads(video.width, video.height, fps),
    )
