"""Audio pipeline end to end: one analysis pass, one encode, tags read back, loudness measured."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import av
import pytest
from mutagen.id3 import ID3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus

from episodes.media import FFmpegError, MediaConfig, ProcessResult, TagMeta, process, process_audio
from episodes.media.tags import ChapterMark, read_id3_chapters

from .conftest import Clips, ebur128, ffmpeg

TITLE = "Україна: тиждень 5"


@pytest.fixture(scope="module")
def cover(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cover") / "cover.jpg"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=300x300", "-frames:v", "1", "-update", "1", str(path))
    return path


@dataclass
class Run:
    result: ProcessResult
    workdir: Path
    stages: list[tuple[str, float]]


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory, clips: Clips, cover: Path) -> Run:
    meta = TagMeta(
        title=TITLE,
        show="Тиждень",
        author="Редакція",
        date="2025-03-07",
        description="Огляд подій тижня.",
        language="ukr",
        cover=cover,
        chapters=(
            ChapterMark(12.0, None, "Економіка"),
            ChapterMark(0.0, None, "Вступ"),
            ChapterMark(5.5, None, "Фронт"),
        ),
    )
    stages: list[tuple[str, float]] = []
    workdir = tmp_path_factory.mktemp("audio-episode")
    result = process(clips.speech(20, amp=0.3), workdir, meta, MediaConfig(), lambda s, p: stages.append((s, p)))
    return Run(result, workdir, stages)


def test_outputs_are_described_and_present(episode: Run) -> None:
    workdir, result = episode.workdir, episode.result
    kinds = [o.kind for o in result.outputs]
    assert kinds == ["audio_mp3", "audio_aac", "audio_opus", "waveform"]
    for out in result.outputs:
        assert (workdir / out.path).stat().st_size == out.size_bytes > 0 and len(out.sha256) == 64
    assert sorted(p.name for p in workdir.iterdir()) == [
        "audio.m4a",
        "audio.mp3",
        "audio.opus",
        "waveform.json",
    ]
    mp3 = result.output("audio_mp3")
    assert mp3 is not None and mp3.mime == "audio/mpeg" and mp3.duration == pytest.approx(20, abs=0.2)
    with av.open(str(workdir / "audio.mp3")) as c:
        s = c.streams.audio[0]
        assert (s.codec_context.sample_rate, s.codec_context.channels, s.codec_context.bit_rate) == (
            44100,
            2,
            128000,
        )
    with av.open(str(workdir / "audio.opus")) as c:
        assert c.streams.audio[0].codec_context.sample_rate == 48000


def test_progress_goes_through_stages_to_100(episode: Run) -> None:
    stages = episode.stages
    percents = [p for _, p in stages]
    assert percents == sorted(percents) and percents[-1] == 100
    assert {"probe", "analyse", "encode", "package", "finalise"} <= {s for s, _ in stages}


@pytest.mark.parametrize("name", ["audio.mp3", "audio.m4a", "audio.opus"])
def test_loudness_is_normalised(episode: Run, name: str) -> None:
    loudness = episode.result.loudness
    assert loudness is not None and loudness.integrated_lufs < -20  # a quiet source, raised
    integrated, peak = ebur128(episode.workdir / name)
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0


def test_id3_tags_chapters_and_cover_round_trip(episode: Run, cover: Path) -> None:
    path = episode.workdir / "audio.mp3"
    tags = ID3(path)
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == TITLE and str(tags["TALB"]) == "Тиждень" and str(tags["TPE1"]) == "Редакція"
    assert str(tags.getall("TYER")[0] if tags.getall("TYER") else tags["TDRC"]).startswith("2025")
    comm = tags.getall("COMM")[0]
    assert comm.text == ["Огляд подій тижня."] and comm.lang == "ukr"
    apic = tags.getall("APIC")[0]
    assert apic.mime == "image/jpeg" and apic.data == cover.read_bytes()
    assert read_id3_chapters(path) == [(0.0, 5.5, "Вступ"), (5.5, 12.0, "Фронт"), (12.0, 20.0, "Економіка")]


def test_mp4_tags_cover_and_chapters(episode: Run, cover: Path) -> None:
    path = episode.workdir / "audio.m4a"
    tags = MP4(path).tags
    assert tags is not None
    assert tags["\xa9nam"] == [TITLE] and tags["\xa9alb"] == ["Тиждень"] and tags["\xa9ART"] == ["Редакція"]
    assert tags["\xa9day"] == ["2025-03-07"] and tags["desc"] == ["Огляд подій тижня."]
    assert bytes(tags["covr"][0]) == cover.read_bytes()
    with av.open(str(path)) as c:
        titles = [ch["metadata"].get("title") for ch in c.chapters()]
    assert titles == ["Вступ", "Фронт", "Економіка"]
    with open(path, "rb") as fh:  # +faststart: moov before mdat
        head = fh.read(200_000)
    assert head.find(b"moov") < head.find(b"mdat")


def test_opus_comments(episode: Run) -> None:
    tags = OggOpus(episode.workdir / "audio.opus").tags
    assert tags is not None and tags["title"] == [TITLE]


def test_waveform_json(episode: Run) -> None:
    doc = json.loads((episode.workdir / "waveform.json").read_text())
    assert {k: doc[k] for k in ("version", "channels", "bits", "sample_rate", "samples_per_pixel")} == {
        "version": 2,
        "channels": 1,
        "bits": 8,
        "sample_rate": 8000,
        "samples_per_pixel": 800,
    }
    assert doc["length"] == 200 and len(doc["data"]) == 400
    assert all(-128 <= v <= 127 for v in doc["data"]) and max(doc["data"]) > 20


def test_loud_surround_is_downmixed_and_limited(tmp_path: Path, clips: Clips) -> None:
    result = process_audio(clips.surround(), tmp_path, TagMeta(title="5.1"), MediaConfig())
    for out in result.outputs[:3]:
        with av.open(str(tmp_path / out.path)) as c:
            assert c.streams.audio[0].codec_context.channels == 2
        integrated, peak = ebur128(tmp_path / out.path)
        assert integrated == pytest.approx(-16.0, abs=1.0) and peak <= -1.0


def test_peaks_are_limited_when_the_gain_is_large(tmp_path: Path, clips: Clips) -> None:
    result = process_audio(clips.peaky(), tmp_path, TagMeta(), MediaConfig())
    assert result.loudness is not None and result.gain_db is not None
    assert result.loudness.true_peak_dbtp + result.gain_db > 10  # unlimited, peaks would reach +10 dBTP
    for out in result.outputs[:3]:
        integrated, peak = ebur128(tmp_path / out.path)
        assert integrated == pytest.approx(-16.0, abs=1.0) and peak <= -1.0


@pytest.mark.parametrize("clip", ["loud_noise", "long_peaky", "clicks"])
def test_loud_noise_and_long_peaky_programmes_land_on_target(tmp_path: Path, clips: Clips, clip: str) -> None:
    # Loud: a cut of ~9 dB, true peaks over full scale (clipped 16-bit), the limiter idle. Long and peaky: the
    # limiter takes ~2 dB off at +20 dB, measured on sampled 2 s windows only (the programme is over 120 s);
    # measured on a mono 16 kHz copy instead, the loss came out ~1 dB too high: Opus at -14.9 LUFS, -0.8 dBTP.
    # Clicks: without the lowpass before the limiter, AAC rang up to -0.9 dBTP.
    result = process_audio(getattr(clips, clip)(), tmp_path, TagMeta(), MediaConfig())
    assert result.loudness is not None and result.gain_db is not None
    if clip == "loud_noise":
        assert result.gain_db < -5 and result.loudness.true_peak_dbtp > 0
    else:
        assert result.loudness.true_peak_dbtp + result.gain_db > 10
    for out in result.outputs[:3]:
        integrated, peak = ebur128(tmp_path / out.path)
        assert integrated == pytest.approx(-16.0, abs=1.0) and peak <= -1.0


def test_narrowband_mono_is_resampled_and_stays_mono(tmp_path: Path, clips: Clips) -> None:
    result = process_audio(clips.narrowband(), tmp_path, TagMeta(), MediaConfig())
    rates = {}
    for out in result.outputs[:3]:
        with av.open(str(tmp_path / out.path)) as c:
            cc = c.streams.audio[0].codec_context
            rates[out.kind] = (cc.sample_rate, cc.channels)
        integrated, peak = ebur128(tmp_path / out.path)
        assert integrated == pytest.approx(-16.0, abs=1.0) and peak <= -1.0
    assert rates == {"audio_mp3": (44100, 1), "audio_aac": (48000, 1), "audio_opus": (48000, 1)}


def test_cover_art_mp3_is_processed_as_audio(tmp_path: Path, clips: Clips) -> None:
    result = process(clips.with_cover(), tmp_path, TagMeta(), MediaConfig())
    assert result.kind == "audio" and [o.kind for o in result.outputs][:3] == [
        "audio_mp3",
        "audio_aac",
        "audio_opus",
    ]


def test_half_second_clip(tmp_path: Path, clips: Clips) -> None:
    result = process(clips.speech(0.5, name="half.wav"), tmp_path, TagMeta(title="short"), MediaConfig())
    mp3 = result.output("audio_mp3")
    assert mp3 is not None and mp3.duration == pytest.approx(0.5, abs=0.1)


def test_failure_leaves_no_outputs(tmp_path: Path, clips: Clips) -> None:
    broken = MediaConfig(ffmpeg_binary="/bin/false")
    with pytest.raises(FFmpegError):
        process(clips.speech(3, name="speech3.wav"), tmp_path, TagMeta(), broken)
    assert list(tmp_path.iterdir()) == []
