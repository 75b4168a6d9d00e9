"""Measure HLS variants and write the master playlist ourselves (ffmpeg's lacks measured peaks).

Usage::

    variants = [measure_variant(hls_dir / "720p" / "index.m3u8", rung, codecs="avc1.64001f,mp4a.40.2")]
    (hls_dir / "master.m3u8").write_text(master_playlist(variants))
    constant_rate_for(variants[0], rung, 128_000)   # None, or the video rate to encode a rung breaking 1.30 at
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .plan import VideoRung


@dataclass(frozen=True, slots=True)
class Segment:
    uri: str
    duration: float
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Variant:
    """One measured variant: BANDWIDTH is the peak segment bitrate, AVERAGE-BANDWIDTH the mean."""

    uri: str
    bandwidth: int
    average_bandwidth: int
    codecs: str
    width: int
    height: int
    frame_rate: float
    segments: tuple[Segment, ...]


# Apple HLS authoring spec 1.30: a VOD variant's peak segment rate SHOULD stay within 2× its average.
MAX_PEAK_TO_AVERAGE = 2
# Re-encoding a rung at a constant rate pads its quiet parts: never by more than twice its capped-CRF size.
MAX_CONSTANT_RATE_GROWTH = 2
MIN_CONSTANT_VIDEO_BITRATE = 100_000


def constant_rate_for(variant: Variant, rung: VideoRung, audio_bitrate: int) -> int | None:
    """The video bit rate to encode ``rung`` again at when its capped-CRF encode breaks the peak rule; None
    when it keeps it.

    The whole variant then runs at half the old peak (the busy part keeps half its bits, the rest is padded),
    but at most at ``MAX_CONSTANT_RATE_GROWTH`` × the old average (an hour of slides before ten busy seconds
    must not grow twentyfold), and never above the rung's cap.
    """
    if variant.bandwidth <= MAX_PEAK_TO_AVERAGE * variant.average_bandwidth:
        return None
    total = min(variant.bandwidth // MAX_PEAK_TO_AVERAGE, MAX_CONSTANT_RATE_GROWTH * variant.average_bandwidth)
    return max(MIN_CONSTANT_VIDEO_BITRATE, min(rung.maxrate, total - audio_bitrate))


def parse_media_playlist(path: Path) -> tuple[list[tuple[str, float]], str | None]:
    """Return [(segment uri, duration)] and the EXT-X-MAP init URI of a media playlist."""
    segments: list[tuple[str, float]] = []
    init: str | None = None
    duration: float | None = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",")[0])
        elif line.startswith("#EXT-X-MAP:"):
            init = line.split('URI="', 1)[1].split('"', 1)[0]
        elif line and not line.startswith("#") and duration is not None:
            segments.append((line, duration))
            duration = None
    return segments, init


def avc1_codec(mp4: Path) -> str:
    """Read the real profile/compatibility/level bytes from the avcC box: "avc1.64001f"."""
    import av

    with av.open(str(mp4)) as container:
        extradata = container.streams.video[0].codec_context.extradata or b""
    if len(extradata) < 4 or extradata[0] != 1:
        raise ValueError(f"{mp4} has no avcC configuration record")
    return f"avc1.{extradata[1]:02x}{extradata[2]:02x}{extradata[3]:02x}"


def measure_variant(playlist: Path, rung: VideoRung, *, codecs: str, uri: str) -> Variant:
    """Sum segment sizes from disk: peak and average bitrates over the real segments."""
    entries, _init = parse_media_playlist(playlist)
    segments = tuple(Segment(u, d, (playlist.parent / u).stat().st_size) for u, d in entries)
    total_bytes = sum(s.size_bytes for s in segments)
    total_s = sum(s.duration for s in segments) or 1.0
    average = int(total_bytes * 8 / total_s)
    # A very short final segment inflates its rate without stressing the network; rate it as ≥ 1 s.
    peak = max((int(s.size_bytes * 8 / max(s.duration, 1.0)) for s in segments), default=average)
    return Variant(
        uri=uri,
        bandwidth=max(peak, average),
        average_bandwidth=average,
        codecs=codecs,
        width=rung.width,
        height=rung.height,
        frame_rate=float(rung.fps),
        segments=segments,
    )


def master_playlist(variants: list[Variant]) -> str:
    """Render the multivariant playlist (RFC 8216 §4.3.4.2 attributes, Apple authoring spec order)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for v in variants:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={v.bandwidth},AVERAGE-BANDWIDTH={v.average_bandwidth},"
            f'CODECS="{v.codecs}",RESOLUTION={v.width}x{v.height},FRAME-RATE={v.frame_rate:.3f}'
        )
        lines.append(v.uri)
    return "\n".join(lines) + "\n"
