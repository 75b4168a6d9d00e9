"""Odd real media through the pipeline: a damaged MP4 whose header promises more, a size just under a rung."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest

from episodes.media import MediaConfig, TagMeta, process
from episodes.media.hls import parse_media_playlist

from .conftest import Clips


def cut_at_two_thirds(clips: Clips, tmp_path: Path) -> Path:
    """A 10 s faststart MP4 (header first) cut at two thirds: its header says 10 s, ~6.6 s of media remain."""
    whole = clips.video("faststart-10s.mp4", size="320x240", seconds=10, extra=("-movflags", "+faststart"))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    return cut


def vtt_end(text: str) -> float:
    last = [line for line in text.splitlines() if "-->" in line][-1].split("-->")[1].strip()
    h, m, s = last.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_durations_of_a_damaged_mp4_come_from_what_was_written(
    tmp_path: Path, clips: Clips, fast_config: MediaConfig
) -> None:
    out = tmp_path / "out"
    result = process(cut_at_two_thirds(clips, tmp_path), out, TagMeta(), fast_config)
    assert result.probe.duration == pytest.approx(10.0, abs=0.1)  # what the header claims
    with av.open(str(out / "video_240p.mp4")) as c:
        real = (c.duration or 0) / 1_000_000
    assert 5.5 < real < 7.5
    by_kind = {o.kind: o for o in result.outputs}
    for kind in ("video_mp4", "hls", "audio_mp3", "audio_aac"):
        assert by_kind[kind].duration == pytest.approx(real, abs=0.15), kind
    segments, _ = parse_media_playlist(out / "hls" / "240p" / "index.m3u8")
    assert sum(d for _, d in segments) == pytest.approx(real, abs=0.15)
    assert vtt_end((out / "storyboard.vtt").read_text()) == pytest.approx(real, abs=0.05)
    waveform = json.loads((out / "waveform.json").read_text())
    pixels_per_s = waveform["sample_rate"] / waveform["samples_per_pixel"]
    assert waveform["length"] / pixels_per_s == pytest.approx(real, abs=0.2)


def test_a_source_just_under_a_rung_keeps_its_resolution(
    tmp_path: Path, clips: Clips, fast_config: MediaConfig
) -> None:
    # 1279×719 cannot be 4:2:0 (odd sizes), so the upload is 4:4:4 H.264, as some screen recorders write.
    source = clips.video("odd-1279x719.mp4", size="1279x719", rate=10, seconds=1, audio=False,
                         extra=("-pix_fmt", "yuv444p"))  # fmt: skip
    result = process(source, tmp_path, TagMeta(), fast_config)
    rungs = [(o.label, o.width, o.height) for o in result.outputs if o.kind == "video_mp4"]
    assert rungs == [("720p", 1278, 718), ("480p", 854, 480), ("360p", 640, 360)]
    with av.open(str(tmp_path / "video_720p.mp4")) as c:
        frame = next(c.decode(video=0))
        assert (frame.width, frame.height, frame.format.name) == (1278, 718, "yuv420p")
    assert "RESOLUTION=1278x718" in (tmp_path / "hls" / "master.m3u8").read_text()
