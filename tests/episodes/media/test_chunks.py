"""Chunked video encode: the joined outputs must be what a whole-file encode makes, for players and validators.

Tiny real encodes (x264 veryfast, so B-frames cross every join) with 2 s segments and 1 s GOPs, cut in 2 s
chunks; continuity is read back with PyAV.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import pytest

from episodes.media import MediaConfig, TagMeta, probe, process_video
from episodes.media.chunks import ChunkSpan, boundary_step, chunk_encode_argv, chunk_spans, encode_chunk
from episodes.media.join import encode_programme_audio, join_chunks
from episodes.media.plan import ImagePlan, Plan, plan

from .conftest import Clips

CONFIG = MediaConfig(x264_preset="veryfast", hls_segment_s=2, keyframe_interval_s=1, stall_timeout_s=60)


def video_packets(path: Path) -> tuple[list[Fraction], list[Fraction], list[Fraction]]:
    """Presentation times (sorted), decode times and keyframe times of the first video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        base = Fraction(stream.time_base or 1)
        pts: list[Fraction] = []
        dts: list[Fraction] = []
        keys: list[Fraction] = []
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            pts.append(packet.pts * base)
            dts.append((packet.dts or 0) * base)
            if packet.is_keyframe:
                keys.append(packet.pts * base)
    return sorted(pts), dts, keys


def audio_samples(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(audio=0))


def encode_both_ways(source: Path, root: Path) -> tuple[Plan, tuple[ChunkSpan, ...]]:
    """``root/whole``: the whole-file encode; ``root/chunked``: 2 s chunks, the programme's sound, the join."""
    info = probe(source, CONFIG)
    p = plan(info, CONFIG)
    process_video(source, root / "whole", TagMeta(title="t"), CONFIG, probed=info)
    spans = chunk_spans(p, 2)
    work = root / "parts"
    dirs = []
    for span in spans:
        dirs.append(work / f"c{span.index:03d}")
        encode_chunk(p, span, dirs[-1], CONFIG)
    sound = None
    if p.has_audio:
        sound = work / "sound"
        encode_programme_audio(p, sound, CONFIG)
    join_chunks(p, info, dirs, sound, root / "chunked", TagMeta(title="t"), CONFIG)
    return p, spans


@pytest.fixture(scope="module")
def encodes(clips: Clips, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, tuple]:
    source = clips.video("chunky.mp4", size="640x480", rate=15, seconds=9)
    root = tmp_path_factory.mktemp("chunked")
    _, spans = encode_both_ways(source, root)
    return root / "whole", root / "chunked", spans


def test_spans_fall_on_segment_multiples_and_a_short_tail_joins_the_last() -> None:
    p = replace(plan_for(61.5), hls_segment_s=6, keyframe_interval_s=2)
    spans = chunk_spans(p, 20)
    assert [(s.start, s.end) for s in spans] == [(0, 18), (18, 36), (36, 54), (54, 61.5)]
    assert boundary_step(p) == 6 and spans[-1].last and not spans[0].last
    assert [(s.start, s.end) for s in chunk_spans(replace(p, duration=55.0), 20)] == [(0, 18), (18, 36), (36, 55)]


def plan_for(duration: float) -> Plan:

    images = ImagePlan(640, 360, 320, 180, "1", 20, 160, 90, 1, 62, 10, 7)
    return Plan(kind="video", source=Path("x.mp4"), demuxer="mov", duration=duration, audio_channels=2, audio=(),
                images=images)  # fmt: skip


def test_a_chunk_decodes_its_span_once_for_every_rung(clips: Clips) -> None:
    source = clips.video("chunky.mp4", size="640x480", rate=15, seconds=9)
    p = plan(probe(source, CONFIG), CONFIG)
    span = chunk_spans(p, 2)[1]
    argv = chunk_encode_argv(p, span, exe="ffmpeg", outdir=Path("/w"))
    assert argv.count("-i") == 1 and argv[argv.index("-ss") + 1] == "2.000000"
    assert argv[argv.index("-t") + 1] == "2.000000"
    assert sum(a.startswith("/w/") and a.endswith(".mp4") for a in argv) == len(p.rungs) == 2
    assert "-c:a" not in argv and "aac" not in argv  # the sound is encoded once, over the whole programme


def test_joined_rungs_are_continuous_and_match_the_whole_file_encode(encodes: tuple) -> None:
    whole, chunked, spans = encodes
    assert len(spans) == 4
    for name in ("video_480p.mp4", "video_360p.mp4"):
        w_pts, _, w_keys = video_packets(whole / name)
        c_pts, c_dts, c_keys = video_packets(chunked / name)
        assert len(c_pts) == len(w_pts) == 9 * 15  # no frame lost or doubled at a join
        steps = {b - a for a, b in zip(c_pts, c_pts[1:], strict=False)}
        assert steps == {Fraction(1, 15)}  # strictly increasing, no gap, no duplicate
        assert all(b > a for a, b in zip(c_dts, c_dts[1:], strict=False))
        assert c_keys == w_keys == [Fraction(n) for n in range(9)]  # an IDR every second, joins included
        # The sound was encoded once: the same samples as the whole-file encode (within one AAC frame).
        assert abs(audio_samples(chunked / name) - audio_samples(whole / name)) <= 1024
        with (chunked / name).open("rb") as fh:
            head = fh.read(4096)
        assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head  # faststart


def test_joined_hls_variants_are_one_continuous_stream_with_measured_rates(encodes: tuple) -> None:
    whole, chunked, _ = encodes
    for rung in ("480p", "360p"):
        mine = (chunked / "hls" / rung / "index.m3u8").read_text()
        theirs = (whole / "hls" / rung / "index.m3u8").read_text()
        assert "DISCONTINUITY" not in mine
        durations = [line for line in mine.splitlines() if line.startswith("#EXTINF")]
        assert durations == [line for line in theirs.splitlines() if line.startswith("#EXTINF")]
    master = (chunked / "hls" / "master.m3u8").read_text()
    for line in master.splitlines():
        if line.startswith("#EXT-X-STREAM-INF"):
            attrs = dict(kv.split("=", 1) for kv in line.split(":", 1)[1].split(",") if "=" in kv)
            assert int(attrs["BANDWIDTH"]) <= 2 * int(attrs["AVERAGE-BANDWIDTH"])


def test_images_and_sound_cover_the_whole_video(encodes: tuple) -> None:
    whole, chunked, _ = encodes
    for name in ("poster.jpg", "thumbnail.jpg", "storyboard.jpg", "storyboard.vtt", "audio.m4a", "audio.mp3",
                 "waveform.json"):  # fmt: skip
        assert (chunked / name).stat().st_size > 0, name
    with av.open(str(chunked / "storyboard.jpg")) as a, av.open(str(whole / "storyboard.jpg")) as b:
        assert (a.streams.video[0].width, a.streams.video[0].height) == (
            b.streams.video[0].width,
            b.streams.video[0].height,
        )
    assert (chunked / "storyboard.vtt").read_text() == (whole / "storyboard.vtt").read_text()
    assert abs(audio_samples(chunked / "audio.m4a") - audio_samples(whole / "audio.m4a")) <= 1024
