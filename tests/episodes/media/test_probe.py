"""Probe and classification on hostile and odd inputs (real PyAV in the resource-limited child)."""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import pytest

from episodes.media import MediaConfig, MediaRejected, ProbeError, TagMeta, probe, process
from episodes.media.errors import ProbeStarved

from .conftest import Clips, ffmpeg

DEFAULT = MediaConfig()


def test_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp3"
    empty.touch()
    result = probe(empty, DEFAULT)
    assert (result.kind, result.reason) == ("rejected", "The file is empty.")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("random.mp3", os.urandom(20_000), "This is not a media file we can read."),
        (
            "notes.mp3",
            "Текст, не звук.\n".encode() * 50,
            "This is a text document, not a recording.",
        ),
    ],
)
def test_garbage_renamed_as_audio_is_rejected(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = probe(path, DEFAULT)
    assert result.kind == "rejected" and result.reason is not None and result.reason.startswith(reason)
    with pytest.raises(MediaRejected):
        process(path, tmp_path / "out", TagMeta(), DEFAULT)
    assert not (tmp_path / "out").exists()


def test_png_renamed_mp3_names_the_detected_format(tmp_path: Path) -> None:
    png = tmp_path / "cover.mp3"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x64", "-frames:v", "1", "-f", "image2", "-c:v", "png", str(png))
    result = probe(png, DEFAULT)
    assert result.kind == "rejected"
    assert result.reason is not None and result.reason.startswith("This is a picture (PNG), not a recording.")


SVG = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8"/></svg>'


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("logo.mp3", SVG.encode(), "This is a picture (SVG), not a recording."),
        ("input.bin", os.urandom(20_000), "This is not a media file we can read."),
        ("captions.mp3", b"1\n00:00:01,000 --> 00:00:02,000\nHello\n\n" * 20, "This is a subtitle or transcript"),
        # Saved by a Windows editor: a byte order mark first.
        (
            "bom.mp3",
            ("\ufeff" + "1\n00:00:01,000 --> 00:00:02,000\nПривіт\n\n" * 20).encode(),
            "This is a subtitle or transcript",
        ),
        # Noise that ffmpeg's lyrics (LRC) probe scores as a match: binary is never called a subtitle file.
        ("noise.mp3", random.Random(131).randbytes(20_000), "This is not a media file we can read."),
    ],
)
def test_rejections_say_what_the_file_is_in_a_producers_words(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = probe(path, DEFAULT)
    assert result.kind == "rejected" and result.reason is not None
    assert result.reason.startswith(reason), result.reason
    assert "detected" not in result.reason and "_pipe" not in result.reason


def test_truncated_mp4_is_reported_as_incomplete(tmp_path: Path, clips: Clips) -> None:
    whole = clips.video(seconds=2)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # moov (at the end) is lost
    result = probe(cut, DEFAULT)
    assert result.kind == "rejected"
    assert result.reason == "The file is damaged or incomplete (it may have been cut off during upload)."


PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\n{url}\n#EXT-X-ENDLIST\n"


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
@pytest.mark.parametrize("target", ["file:///etc/passwd", "http"])
def test_hls_playlist_in_disguise_is_never_followed(
    tmp_path: Path, http_server: tuple[str, list[str]], suffix: str, target: str
) -> None:
    base, hits = http_server
    url = f"{base}/stolen.ts" if target == "http" else target
    disguised = tmp_path / f"episode{suffix}"
    disguised.write_text(PLAYLIST.format(url=url))
    result = probe(disguised, DEFAULT)
    assert result.kind == "rejected"
    assert result.reason is not None and "playlist (HLS)" in result.reason
    with pytest.raises(MediaRejected, match="playlist"):
        process(disguised, tmp_path / "out", TagMeta(), DEFAULT)
    assert hits == []


def test_even_an_allowed_hls_demuxer_cannot_leave_the_file_protocol(
    tmp_path: Path, http_server: tuple[str, list[str]]
) -> None:
    base, hits = http_server
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(PLAYLIST.format(url=f"{base}/segment.ts"))
    permissive = MediaConfig(input_formats=(*DEFAULT.input_formats, "hls", "applehttp"))
    result = probe(playlist, permissive)
    assert result.kind == "rejected" and hits == []


def test_limits_on_size_duration_and_dimensions(clips: Clips) -> None:
    video = clips.video(seconds=2)
    too_big = probe(video, MediaConfig(max_bytes=1000))
    assert (
        too_big.reason is not None
        and too_big.reason.startswith("The file is ")
        and "the limit is 1.0 KB" in too_big.reason
    )
    too_long = probe(video, MediaConfig(max_duration_s=1))
    assert too_long.reason == "The recording is 0:00:02 long; the limit is 0:00:01."
    too_wide = probe(video, MediaConfig(max_width=320, max_height=240))
    assert too_wide.reason == "The video is 640×480; the limit is 320×240."


def test_video_streams_codecs_and_audio(clips: Clips) -> None:
    result = probe(clips.video(seconds=2), DEFAULT)
    assert result.kind == "video" and result.demuxer == "mov"
    assert result.duration == pytest.approx(2.0, abs=0.1)
    v, a = result.video, result.audio
    assert v is not None and a is not None
    assert (v.codec, v.width, v.height, v.frame_rate, v.bit_depth, v.vfr) == (
        "h264",
        640,
        480,
        15.0,
        8,
        False,
    )
    assert (a.codec, a.sample_rate, a.channels) == ("aac", 44100, 2)


def test_video_without_audio(clips: Clips) -> None:
    result = probe(clips.video("silent.mp4", seconds=2, audio=False), DEFAULT)
    assert result.kind == "video" and result.audio is None


def test_audio_with_cover_art_is_audio(clips: Clips) -> None:
    result = probe(clips.with_cover(), DEFAULT)
    assert result.kind == "audio" and result.video is None
    assert result.cover is not None and result.cover.codec == "mjpeg"


def test_rotated_phone_video_reports_display_size(clips: Clips) -> None:
    v = probe(clips.rotated(), DEFAULT).video
    assert v is not None and v.rotation in (90, 270)
    assert (v.width, v.height, v.coded_width, v.coded_height) == (360, 640, 640, 360)


def test_vfr_is_noticed(clips: Clips) -> None:
    v = probe(clips.vfr(), DEFAULT).video
    assert v is not None and v.vfr


def test_ten_bit_hdr(clips: Clips) -> None:
    v = probe(clips.hdr10(), DEFAULT).video
    assert v is not None and (v.bit_depth, v.color_transfer, v.hdr) == (10, "smpte2084", True)


def test_surround_and_narrowband_audio(clips: Clips) -> None:
    surround = probe(clips.surround(), DEFAULT).audio
    narrow = probe(clips.narrowband(), DEFAULT).audio
    assert surround is not None and surround.channels == 6
    assert narrow is not None and (narrow.channels, narrow.sample_rate) == (1, 8000)


def test_chapters_and_tags_are_reported(tmp_path: Path, clips: Clips) -> None:
    meta = tmp_path / "meta.txt"
    meta.write_text(";FFMETADATA1\ntitle=Тиждень\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1500\ntitle=Вступ\n")
    out = tmp_path / "chaptered.m4a"
    ffmpeg(
        "-i",
        str(clips.speech(3, name="speech3.wav")),
        "-f",
        "ffmetadata",
        "-i",
        str(meta),
        "-map",
        "0",
        "-map_metadata",
        "1",
        "-map_chapters",
        "1",
        "-c:a",
        "aac",
        str(out),
    )
    result = probe(out, DEFAULT)
    assert result.kind == "audio" and result.tags.get("title") == "Тиждень"
    assert [(c.start, c.end, c.title) for c in result.chapters] == [(0.0, 1.5, "Вступ")]


def test_probe_runs_under_a_memory_limit(clips: Clips) -> None:
    with pytest.raises(ProbeError, match="resource limits"):
        probe(clips.video(seconds=2), MediaConfig(probe_max_memory_bytes=40 * 1024**2))


def _fake_probe_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    """The probe starts ``sys.executable -m episodes.media.probe_worker …``: stand in a script for it."""
    script = tmp_path / "fake-python"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(script))


def test_a_probe_kept_busy_past_its_timeout_rejects_the_file(
    clips: Clips, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = clips.video(seconds=2)
    _fake_probe_worker(tmp_path, monkeypatch, "while :; do :; done")  # burns CPU, like a decompression bomb
    result = probe(source, MediaConfig(probe_timeout_s=1.0))
    assert result.kind == "rejected" and result.reason is not None and "in time" in result.reason


def test_a_starved_probe_raises_for_a_retry_instead_of_rejecting(
    clips: Clips, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = clips.video(seconds=2)
    _fake_probe_worker(tmp_path, monkeypatch, "exec sleep 30")  # no CPU: what a probe gets on a swamped machine
    started = time.monotonic()
    with pytest.raises(ProbeStarved, match="too busy"):
        probe(source, MediaConfig(probe_timeout_s=1.0))
    assert time.monotonic() - started < 10  # killed at the timeout, not waited for


def test_an_interrupted_probe_leaves_no_child_running(
    clips: Clips, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    source = clips.video(seconds=2)
    marker = tmp_path / "child.pid"
    _fake_probe_worker(tmp_path, monkeypatch, f"echo $$ > {marker}; exec sleep 30")

    def interrupt(*_args: object) -> None:
        raise KeyboardInterrupt  # what Celery's soft time limit does to the waiting worker, in kind

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            probe(source, MediaConfig(probe_timeout_s=20.0))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    pid = int(marker.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped, not left behind as a process or a zombie
