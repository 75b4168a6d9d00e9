"""Benchmark a 60 s social clip (1080×1920 and 1080×1080) rendered on ONE core of this machine; target < 60 s each.

The source is generated speech (espeak-ng, Ukrainian, if installed; else pink noise shaped like speech) encoded as
the episode's AAC rendition, a 1400×1400 artwork, and a transcript with a cue every 3 s. The ratio printed is
render time / clip duration (< 1.0 meets the target).

Run: ``uv run python bench/bench_clips.py`` (``--seconds 10`` for a quick look).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from support import ROOT

sys.path.insert(0, str(ROOT))

from episodes.media.clips import ClipSpec, clip_argv, write_subtitles  # noqa: E402
from episodes.media.runner import run  # noqa: E402


@dataclass(frozen=True)
class Cue:  # the shape of episodes.services.transcripts.Cue, without setting up Django
    start: float
    end: float
    text: str


TEXT = "Привіт! Це огляд новин тижня: енергетика, фронт, економіка і культура. Дякуємо, що слухаєте. "


def ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def make_audio(folder: Path, seconds: float) -> Path:
    out = folder / "episode.m4a"
    espeak = shutil.which("espeak-ng")
    if espeak:
        wav = folder / "speech.wav"
        subprocess.run([espeak, "-v", "uk", "-w", str(wav), TEXT * 12], check=True)  # noqa: S603
        src = ["-stream_loop", "-1", "-i", str(wav)]
    else:
        src = ["-f", "lavfi", "-i", "anoisesrc=c=pink:a=0.1:r=44100,tremolo=f=3:d=0.7"]
    subprocess.run(
        [
            ffmpeg(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            *src,
            "-t",
            f"{seconds + 2}",
            "-ac",
            "2",
            "-ar",
            "44100",
            "-c:a",
            "aac",
            "-b:a",
            "160k",
            str(out),
        ],
        check=True,
    )  # noqa: S603
    return out


def _children_cpu() -> float:
    """CPU seconds used by finished child processes: on a busy machine wall time measures the neighbours too."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core; ffmpeg inherits it
    with tempfile.TemporaryDirectory(prefix="bench-clips-") as tmp:
        folder = Path(tmp)
        audio = make_audio(folder, args.seconds)
        art = folder / "cover.png"
        subprocess.run(
            [
                ffmpeg(),
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=1400x1400",
                "-frames:v",
                "1",
                str(art),
            ],
            check=True,
        )  # noqa: S603
        cues = [Cue(t, t + 2.5, f"Субтитр {int(t)}: новини тижня") for t in range(0, int(args.seconds) + 3, 3)]
        for fmt in ("vertical", "square"):
            spec = ClipSpec(audio=audio, artwork=art, title="Україна: тиждень 5 — огляд", start=1.0,
                            duration=args.seconds, fmt=fmt, work_dir=folder / fmt,
                            output=folder / f"{fmt}.mp4")  # fmt: skip
            write_subtitles(spec, cues)
            started, cpu_before = time.perf_counter(), _children_cpu()
            run(clip_argv(spec, ffmpeg=ffmpeg()), duration_s=spec.duration, timeout_s=3600)
            took, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
            size = spec.output.stat().st_size / 1e6
            print(f"{fmt:>8} {spec.size[0]}x{spec.size[1]}, {args.seconds:.0f} s clip on 1 core: wall {took:.1f} s, "
                  f"ffmpeg CPU {cpu:.1f} s (CPU ratio {cpu / args.seconds:.3f}; target < 1.000), {size:.1f} MB; "
                  f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
