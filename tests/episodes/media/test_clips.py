"""Social clips rendered by the real ffmpeg from generated Ukrainian speech (espeak-ng) and its transcript:
size, duration, the title and captions burned in (checked in the frames), and loudness equal to the episode's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import pytest

from episodes.media.clips import ClipSpec, captions_in, clip_argv, layout, subtitles_ass, write_subtitles
from episodes.media.loudness import parse_ebur128
from episodes.media.runner import run
from episodes.services.transcripts import Cue
from tests.conftest import need

pytestmark = pytest.mark.slow
SPEECH = "Привіт! Це короткий огляд новин тижня. Енергетика, фронт і економіка. Дякуємо, що слухаєте нас."
CUES = [Cue(0.2, 2.4, "Привіт! Це короткий огляд"), Cue(4.0, 5.6, "новин тижня: energy, 2026")]


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@pytest.fixture(scope="module")
def episode_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ukrainian speech by espeak-ng, encoded like the episode's AAC rendition."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        need("espeak-ng", "generated speech for clip tests (apt-get install espeak-ng)")
        raise AssertionError("unreachable: need() skips or fails")
    folder = tmp_path_factory.mktemp("speech")
    wav = folder / "speech.wav"
    subprocess.run([espeak, "-v", "uk", "-s", "150", "-w", str(wav), SPEECH], check=True)  # noqa: S603
    out = folder / "episode.m4a"
    subprocess.run(
        [
            _ffmpeg(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(wav),
            "-af",
            "volume=6dB",
            "-ar",
            "44100",
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-b:a",
            "160k",
            str(out),
        ],
        check=True,
    )  # noqa: S603
    return out


@pytest.fixture(scope="module")
def artwork(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("art") / "cover.png"
    subprocess.run(
        [
            _ffmpeg(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=600x600",
            "-frames:v",
            "1",
            str(out),
        ],
        check=True,
    )  # noqa: S603
    return out


def _loudness(path: Path, start: float | None, duration: float) -> float:
    seek = ["-ss", f"{start:.3f}"] if start is not None else []
    proc = subprocess.run([_ffmpeg(), "-hide_banner", "-nostats", *seek, "-t", f"{duration:.3f}", "-i", str(path),
                           "-map", "0:a", "-af", "ebur128=peak=true", "-f", "null", "-"],
                          capture_output=True, text=True, check=True)  # noqa: S603 # fmt: skip
    return parse_ebur128(proc.stderr.splitlines()).integrated_lufs


def _band_brightness(path: Path, at: float, y: int, height: int, width: int) -> int:
    """How many bright pixels a horizontal band of the frame at ``at`` has (text is white)."""
    proc = subprocess.run([_ffmpeg(), "-hide_banner", "-loglevel", "error", "-ss", f"{at:.2f}", "-i", str(path),
                           "-frames:v", "1", "-vf", f"crop={width}:{height}:0:{y},format=gray", "-f", "rawvideo", "-"],
                          capture_output=True, check=True)  # noqa: S603 # fmt: skip
    return sum(1 for b in proc.stdout if b > 200)


def test_subtitles_escape_text_and_shift_cues() -> None:
    spec = ClipSpec(audio=Path("a"), artwork=None, title="Назва {\\b1}", start=1.0, duration=4.0, fmt="square",
                    work_dir=Path("/tmp/x"), output=Path("/tmp/x/o.mp4"))  # fmt: skip
    shifted = captions_in(CUES, spec.start, spec.duration)
    assert shifted == [(0.0, 1.4, CUES[0].text), (3.0, 4.0, CUES[1].text)]
    ass = subtitles_ass(spec, shifted)
    assert "Dialogue: 0,0:00:00.00,0:00:04.00,Title,,0,0,0,,Назва (⧵b1)" in ass
    assert "Dialogue: 1,0:00:03.00,0:00:04.00,Caption,,0,0,0,,новин тижня: energy, 2026" in ass
    argv = clip_argv(spec, ffmpeg="ffmpeg")
    assert argv[argv.index("-ss") + 1] == "1.000" and "0:a" in argv and "[v]" in argv
    with pytest.raises(ValueError, match="unsafe path"):
        clip_argv(ClipSpec(**{**spec.__dict__, "work_dir": Path("/tmp/a:b")}), ffmpeg="ffmpeg")


@pytest.mark.parametrize("fmt", ["vertical", "square"])
def test_clip_has_size_duration_captions_and_the_episodes_loudness(
    fmt: str, episode_audio: Path, artwork: Path, tmp_path: Path
) -> None:
    spec = ClipSpec(
        audio=episode_audio,
        artwork=artwork,
        title="Україна: тиждень 5",
        start=0.5,
        duration=5.0,
        fmt=fmt,
        work_dir=tmp_path / "work",
        output=tmp_path / f"{fmt}.mp4",
    )
    write_subtitles(spec, CUES)
    run(clip_argv(spec, ffmpeg=_ffmpeg()), duration_s=spec.duration, timeout_s=300)
    with av.open(str(spec.output)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == spec.size
        assert container.streams.audio, "the clip has sound"
        duration = float(container.duration or 0) / av.time_base
    assert abs(duration - spec.duration) < 0.15, duration
    # Captions: the bottom band has white text while a cue is on (clip time 1.0 s), none in the gap (2.5 s).
    w, h = spec.size
    lay = layout(fmt)
    band_y, band_h = h - lay.caption_y - 150, 170
    on = _band_brightness(spec.output, 1.0, band_y, band_h, w)
    off = _band_brightness(spec.output, 2.5, band_y, band_h, w)
    assert on > 2000 and off < on / 20, (on, off)
    # The title is on top all along.
    assert _band_brightness(spec.output, 2.5, lay.title_y - 10, 120, w) > 1000
    # Loudness: the clip is as loud as the episode over the same stretch.
    episode = _loudness(episode_audio, spec.start, spec.duration)
    clip = _loudness(spec.output, None, spec.duration)
    assert abs(episode - clip) < 0.5, (episode, clip)
    shutil.copy(spec.output, Path(__file__).resolve().parents[3] / "test-artifacts" / f"share-clip-{fmt}.mp4")
