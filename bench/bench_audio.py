"""Audio renditions benchmark: our pipeline vs bare ffmpeg doing the same encodes.

Usage::

    uv run python bench/bench_audio.py               # 60-minute speech-like source
    uv run python bench/bench_audio.py --minutes 5   # quick run
    uv run python bench/bench_audio.py --minutes 10 --rounds 3   # A, B, ours 3 times, rotated; best of each

Prints wall time, speed (× realtime), the ratio against baselines measured in the same run, our time per
stage, and peak RSS: of the ffmpeg children of each phase, and of our worker process itself (each phase runs
in its own forked process).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import Phase, measure  # noqa: E402

from episodes.media import MediaConfig, TagMeta, probe, process_audio  # noqa: E402
from episodes.media.plan import plan  # noqa: E402

SPEECH = "anoisesrc=c=pink:a=0.3:r=44100:seed=7:d={d},highpass=f=100,lowpass=f=5000,tremolo=f=3:d=0.7"


def make_source(path: Path, seconds: float, exe: str) -> None:
    """A stereo 44.1 kHz MP3 at 192k: what a producer typically uploads."""
    subprocess.run(
        [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", SPEECH.format(d=seconds),
         "-ac", "2", "-c:a", "libmp3lame", "-b:a", "192k", str(path)],
        check=True,
    )  # fmt: skip


def bare_commands(source: Path, out: Path, exe: str, *, single: bool) -> list[list[str]]:
    """The same three encodes (fixed gain, no analysis, no tags, no waveform)."""
    head = [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(source)]
    encodes = [
        ["-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100", "-f", "mp3", str(out / "b.mp3")],
        ["-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", "-f", "ipod", str(out / "b.m4a")],
        ["-c:a", "libopus", "-b:a", "64k", "-ar", "48000", "-f", "ogg", str(out / "b.opus")],
    ]
    chain = "volume=3dB,alimiter=limit=0.7:level=false"
    if single:
        graph = f"[0:a]{chain},asplit=3[a0][a1][a2]"
        argv = [*head, "-filter_complex", graph]
        for i, enc in enumerate(encodes):
            argv += ["-map", f"[a{i}]", *enc]
        return [argv]
    return [[*head, "-af", chain, *enc] for enc in encodes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure every phase this many times, in rotated order; keep the best"
    )
    args = parser.parse_args()
    config = MediaConfig()
    exe = config.ffmpeg_exe()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp:
        root = Path(tmp)
        source = root / "source.mp3"
        t0 = time.perf_counter()
        make_source(source, seconds, exe)
        took = time.perf_counter() - t0
        print(f"source: {args.minutes:g} min stereo 44.1 kHz MP3 192k, generated in {took:.1f} s")
        p = plan(probe(source, config), config)
        print(f"plan: {[a.kind for a in p.audio]}")

        def ours() -> None:
            marks: list[tuple[str, float]] = []

            def stage(name: str, _percent: float) -> None:
                if not marks or marks[-1][0] != name:
                    marks.append((name, time.perf_counter()))

            result = process_audio(source, root / "ours", TagMeta(title="Bench"), config, stage)
            marks.append(("end", time.perf_counter()))
            spans = ", ".join(f"{a} {t1 - t0:.1f} s" for (a, t0), (_, t1) in zip(marks, marks[1:], strict=False))
            print(f"  ours: loudness in {result.loudness}, gain {result.gain_db:+.2f} dB", flush=True)
            print(f"  ours by stage: {spans}", flush=True)

        def bare(single: bool) -> Callable[[], None]:
            def run() -> None:
                out = root / ("single" if single else "three")
                out.mkdir(exist_ok=True)
                for argv in bare_commands(source, out, exe, single=single):
                    subprocess.run(argv, check=True)

            return run

        # On a shared machine a phase can be slowed by others' work: with --rounds, every phase runs that
        # many times, each round in a rotated order, and each keeps its best time (and its largest RSS).
        phases = {"A": bare(single=False), "B": bare(single=True), "ours": ours}
        runs: dict[str, list[Phase]] = {name: [] for name in phases}
        for round_ in range(max(1, args.rounds)):
            names = list(phases)
            for name in names[round_ % 3 :] + names[: round_ % 3]:
                runs[name].append(measure(phases[name]))
        if args.rounds > 1:
            for name, results in runs.items():
                print(f"  {name}: " + ", ".join(f"{r.wall_s:.1f} s" for r in results))

    def best(name: str) -> tuple[float, int, int]:
        results = runs[name]
        return min(r[0] for r in results), max(r[1] for r in results), max(r[2] for r in results)

    (three_s, three_rss, _), (single_s, single_rss, _), (ours_s, ours_rss, worker_rss) = map(best, phases)

    def line(label: str, wall: float, rss_kib: int) -> None:
        print(f"{label:<52}{wall:7.1f} s  peak RSS {rss_kib / 1024:6.1f} MiB")

    line("baseline A, three bare commands (one per encode):", three_s, three_rss)
    line("baseline B, one bare command, three outputs:", single_s, single_rss)
    line("ours (probe+analysis+encode+tags+waveform):", ours_s, ours_rss)
    print(f"peak RSS of our worker process itself (Python, forked from the bench): {worker_rss / 1024:.1f} MiB")
    print(f"speed: {seconds / ours_s:.1f}× realtime (target ≥ 40×)")
    print(f"ratio ours / baseline A: {ours_s / three_s:.2f}, ours / baseline B: {ours_s / single_s:.2f}")
    print("(target ≤ 1.15)")


if __name__ == "__main__":
    main()
