"""Chunked encodes of the uploads that trip up time-based cutting: the joined rungs must match the whole-file
encode frame for frame (same count, same times, same pictures), with or without sound.

- 29.97 fps: chunk boundaries (2 s multiples) fall between frames;
- variable frame rate: 30 fps, then 10 fps, in Matroska;
- an edit list: a phone-style cut whose leading packets are marked discard (they decode, but are not shown);
- no sound at all.

Each source is a few seconds of 320×240 with B-frames (x264 veryfast), cut in 2 s chunks.
"""

from __future__ import annotations

import re
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import pytest

from .conftest import SPEECH, Clips, ffmpeg
from .test_chunks import CONFIG, audio_samples, encode_both_ways, video_packets

SECONDS = 7
B_FRAMES = ("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p")


def make(kind: str, clips: Clips, folder: Path) -> Path:
    sound = ["-f", "lavfi", "-i", SPEECH.format(d=SECONDS), "-c:a", "aac", "-ac", "2", "-shortest"]
    if kind == "ntsc":
        return clips._make("ntsc.mp4", "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=30000/1001:d={SECONDS}",
                           *sound, *B_FRAMES)  # fmt: skip
    if kind == "silent":
        return clips._make("silent.mp4", "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=15:d={SECONDS}", *B_FRAMES)
    if kind == "vfr":
        half = SECONDS / 2
        picture = f"testsrc2=s=320x240:r=30:d={half}[a];testsrc2=s=320x240:r=10:d={half}[b];[a][b]concat=n=2:v=1"
        return clips._make("vfr-sound.mkv", "-f", "lavfi", "-i", picture, *sound, "-fps_mode", "passthrough",
                           *B_FRAMES)  # fmt: skip
    assert kind == "edit-list"
    longer = clips._make("uncut.mp4", "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=15:d={SECONDS + 1}",
                         "-f", "lavfi", "-i", SPEECH.format(d=SECONDS + 1), "-c:a", "aac", "-ac", "2", "-shortest",
                         *B_FRAMES, "-g", "30")  # fmt: skip
    cut = folder / "cut.mp4"
    ffmpeg("-ss", "0.6", "-i", str(longer), "-c", "copy", str(cut))  # the cut falls inside a GOP: an edit list
    return cut


@pytest.fixture(scope="module", params=["ntsc", "silent", "vfr", "edit-list"])
def sides(request: pytest.FixtureRequest, clips: Clips, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    root = tmp_path_factory.mktemp(f"chunked-{request.param}")
    source = make(request.param, clips, root)
    p, spans = encode_both_ways(source, root)
    return request.param, p, spans, root / "whole", root / "chunked", source


def psnr_per_frame(a: Path, b: Path) -> list[float]:
    """Each frame of ``a`` against the same-numbered frame of ``b`` (a one-frame shift scores far lower)."""
    out = subprocess.run(
        [CONFIG.ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(a), "-i", str(b),
         "-lavfi", "[0:v][1:v]psnr=stats_file=-", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [float(v) if v != "inf" else 99.0 for v in re.findall(r"psnr_avg:(\S+)", out.stdout)]


def test_the_joined_picture_is_the_whole_file_encode_frame_for_frame(sides: tuple) -> None:
    kind, p, spans, whole, chunked, _ = sides
    assert len(spans) >= 3, "the source must cross at least two joins"
    for rung in p.rungs:
        w_pts, _, w_keys = video_packets(whole / rung.filename)
        c_pts, c_dts, c_keys = video_packets(chunked / rung.filename)
        assert len(c_pts) == len(w_pts), (kind, rung.name)  # no frame lost or doubled at a join
        # The same times (within a tick of the 90 kHz clock: the two muxers may round a 1001/30000 step apart).
        assert all(abs(c - w) <= Fraction(1, 90000) for c, w in zip(c_pts, w_pts, strict=True)), (kind, rung.name)
        assert all(b > a for a, b in zip(c_dts, c_dts[1:], strict=False))
        assert c_keys == w_keys
        scores = psnr_per_frame(chunked / rung.filename, whole / rung.filename)
        assert len(scores) == len(w_pts)
        # Two encodes of the same frames agree closely; the first frame after a join included.
        assert min(scores) > 30, (kind, rung.name, min(scores), scores.index(min(scores)))


def test_the_sound_matches_and_the_hls_variants_are_the_whole_file_encodes(sides: tuple) -> None:
    kind, p, _, whole, chunked, _ = sides
    for rung in p.rungs:
        if p.has_audio:
            assert abs(audio_samples(chunked / rung.filename) - audio_samples(whole / rung.filename)) <= 1024, kind
        else:
            with av.open(str(chunked / rung.filename)) as container:
                assert not container.streams.audio, "a silent upload gets no made-up sound track"
        mine = (chunked / "hls" / rung.name / "index.m3u8").read_text()
        theirs = (whole / "hls" / rung.name / "index.m3u8").read_text()
        assert "DISCONTINUITY" not in mine
        assert [x for x in mine.splitlines() if x.startswith("#EXTINF")] == [
            x for x in theirs.splitlines() if x.startswith("#EXTINF")
        ], kind
    assert (chunked / "storyboard.vtt").read_text() == (whole / "storyboard.vtt").read_text()
    assert (chunked / "poster.jpg").stat().st_size > 0
