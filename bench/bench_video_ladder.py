"""Video ladder benchmark: our single-decode pipeline vs one ffmpeg per rung (same x264 settings).

Usage::

    uv run python bench/bench_video_ladder.py                  # 60 s 1080p30 sources with audio: phone, clean
    uv run python bench/bench_video_ladder.py --seconds 10     # quick run
    uv run python bench/bench_video_ladder.py --sources phone  # one source
    uv run python bench/bench_video_ladder.py --rounds 3       # each side 3 times, alternating; median ratio

Two generated uploads (see SOURCES): a phone recording (17 Mbit/s with sensor grain) and a clean synthetic pattern
(7 Mbit/s). The baseline decodes the source once per rung, so the heavier the source is to decode, the more a
single decode saves: the clean pattern shows the least it saves.

Baseline: for each rung, one ffmpeg from the source (fps/scale + the same x264 and AAC options, +faststart),
then HLS remuxed from each MP4 with -c copy. Its x264 keeps the default thread count (1.5 per CPU): with one
encoder per process that is its best layout (the 1080p rung alone with 2 threads took as long or longer).
Ours: ``process_video`` end to end from the same probe result (as a processing job calls it), which also does
the loudness analysis, normalised audio, poster, thumbnail, storyboard, M4A/MP3 and waveform. Each phase runs
in its own forked process so its ffmpeg children's peak RSS and CPU time can be reported.

The machine is shared with other VMs, so one run's wall times drift by several per cent. With ``--rounds N``
both sides run N times, alternating which goes first; each round gives a paired ratio (the two sides ran
back to back, under the same neighbours), and the median of those is the figure to compare with the target.
CPU seconds are printed too: with both sides keeping the CPUs busy they track the wall times, and they
drift less.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import Phase, measure  # noqa: E402

from episodes.media import MediaConfig, TagMeta, probe, process_video  # noqa: E402
from episodes.media import video_argv as builders  # noqa: E402
from episodes.media.plan import Plan, plan  # noqa: E402

SPEECH = "anoisesrc=c=pink:a=0.3:r=48000:seed=7:d={d},highpass=f=100,lowpass=f=5000,tremolo=f=3:d=0.7"


# The uploads the benchmark encodes (1080p30 H.264 + AAC), by name:
# - "phone": what a phone records: ~17 Mbit/s (an iPhone's 1080p30 H.264) with sensor grain (temporal noise), so
#   decoding costs what it costs on a real upload;
# - "clean": the synthetic test pattern at CRF 20 (~7 Mbit/s, no grain), cheap to decode, like a screen recording.
SOURCES = {
    "phone": (["-vf", "noise=alls=12:allf=t"], ["-b:v", "17M", "-maxrate", "17M", "-bufsize", "34M"]),
    "clean": ([], ["-crf", "20"]),
}


def make_source(path: Path, seconds: float, exe: str, kind: str = "phone") -> None:
    """A 1080p30 H.264 (x264 veryfast) + AAC upload of the given kind (see SOURCES)."""
    filters, rate = SOURCES[kind]
    subprocess.run(
        [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={seconds}",
         "-f", "lavfi", "-i", SPEECH.format(d=seconds), *filters,
         "-c:v", "libx264", "-preset", "veryfast", *rate, "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "160k", "-ac", "2", "-shortest", str(path)],
        check=True,
    )  # fmt: skip


def baseline_commands(p: Plan, source: Path, out: Path, exe: str) -> list[list[str]]:
    """One full decode + encode per rung, then one -c copy HLS remux per rung."""
    head = [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    commands = []
    for rung in p.rungs:
        mp4 = out / rung.filename
        commands.append(
            [*head, "-i", str(source), "-map", "0:v:0", "-map", "0:a:0", "-vf", builders.rung_filter(rung),
             *builders.x264_args(p, rung), "-c:a", "aac", "-b:a", str(rung.audio_bitrate), "-ac", "2",
             "-ar", "48000", "-movflags", "+faststart", str(mp4)]
        )  # fmt: skip
    for rung in p.rungs:
        (out / rung.name).mkdir(exist_ok=True)
        commands.append(
            [*head, "-i", str(out / rung.filename), "-c", "copy",
             "-f", "hls", "-hls_time", str(p.hls_segment_s),
             "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
             "-hls_segment_filename", str(out / rung.name / "seg_%03d.m4s"),
             str(out / rung.name / "index.m3u8")]
        )  # fmt: skip
    return commands


def compare(kind: str, seconds: float, config: MediaConfig, root: Path, rounds_wanted: int = 1) -> float:
    """Baseline and ours on one generated source, ``rounds_wanted`` times; prints the figures, returns the
    median of the rounds' ours / baseline."""
    exe = config.ffmpeg_exe()
    source = root / f"source-{kind}.mp4"
    t0 = time.perf_counter()
    make_source(source, seconds, exe, kind)
    took = time.perf_counter() - t0
    rate = source.stat().st_size * 8 / seconds / 1e6
    print(f"{kind} source: {seconds:g} s 1920x1080 30 fps H.264 ({rate:.1f} Mbit/s) + AAC, generated in {took:.1f} s")
    info = probe(source, config)
    p = plan(info, config)
    rungs = [f"{r.name} {r.width}x{r.height}@{float(r.fps):g}" for r in p.rungs]
    print(f"  ladder: {rungs}, preset {p.preset}")

    def baseline() -> None:
        out = root / f"baseline-{kind}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        for argv in baseline_commands(p, source, out, exe):
            subprocess.run(argv, check=True)

    def ours() -> None:
        # The probe is shared, as in a processing job (the job probes, then calls process_video with it):
        # neither side's time includes it.
        out = root / f"ours-{kind}"
        shutil.rmtree(out, ignore_errors=True)
        result = process_video(source, out, TagMeta(title="Bench"), config, probed=info)
        print(f"  ours made: {sorted({o.kind for o in result.outputs})}", flush=True)

    rounds: list[tuple[Phase, Phase]] = []
    for round_ in range(rounds_wanted):
        if round_ % 2 == 0:
            base = measure(baseline)
            mine = measure(ours)
        else:
            mine = measure(ours)
            base = measure(baseline)
        rounds.append((base, mine))
        print(
            f"  round {round_ + 1}: baseline {base.wall_s:6.1f} s ({base.cpu_s:6.1f} CPU-s), ours {mine.wall_s:6.1f} s "
            f"({mine.cpu_s:6.1f} CPU-s): {mine.wall_s / base.wall_s:.3f}",
            flush=True,
        )
    base_s = statistics.median(b.wall_s for b, _ in rounds)
    ours_s = statistics.median(o.wall_s for _, o in rounds)
    base_rss = max(b.children_rss_kib for b, _ in rounds)
    ours_rss = max(o.children_rss_kib for _, o in rounds)
    cpu_ratio = statistics.median(o.cpu_s / b.cpu_s for b, o in rounds)
    ratio = statistics.median(o.wall_s / b.wall_s for b, o in rounds)
    print(f"  baseline (one ffmpeg per rung + HLS remux): {base_s:7.1f} s  peak RSS {base_rss / 1024:7.1f} MiB")
    print(f"  ours (single decode, everything):           {ours_s:7.1f} s  peak RSS {ours_rss / 1024:7.1f} MiB")
    label = "ratio ours / baseline" + (f", median of {len(rounds)} paired rounds" if len(rounds) > 1 else "")
    print(f"  {label}: {ratio:.3f}  (target ≤ 0.70); CPU time: {cpu_ratio:.3f}", flush=True)
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--preset", default=None, help="x264 preset for both sides (default: MediaConfig's)")
    parser.add_argument("--rounds", type=int, default=1, help="run each side this many times, alternating")
    parser.add_argument("--sources", default="phone,clean", help=f"comma-separated, of {sorted(SOURCES)}")
    args = parser.parse_args()
    config = MediaConfig(**({"x264_preset": args.preset} if args.preset else {}))
    kinds = [kind.strip() for kind in args.sources.split(",") if kind.strip()]
    unknown = set(kinds) - SOURCES.keys()
    if unknown:
        parser.error(f"unknown sources {sorted(unknown)}")
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        ratios = {kind: compare(kind, args.seconds, config, Path(tmp), max(1, args.rounds)) for kind in kinds}
    print("ratios: " + ", ".join(f"{kind} {ratio:.3f}" for kind, ratio in ratios.items()) + " (target ≤ 0.70)")


if __name__ == "__main__":
    main()
