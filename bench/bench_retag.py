"""Tag rewrite benchmark: new tags (title, cover, chapters) on a 60-minute MP3 vs a plain copy of the same bytes.

Usage::

    uv run python bench/bench_retag.py               # 60-minute 128 kb/s MP3 (~58 MB)
    uv run python bench/bench_retag.py --minutes 2   # quick run

Each phase runs in its own forked process (bench/support.measure): wall time, CPU time, peak RSS, plus the
peak of Python's own allocations (tracemalloc) while the phase ran. The baseline is ``shutil.copyfileobj`` of the
same file with the same 1 MiB blocks, measured in the same run; the rewrite is episodes.media.retag.retag_mp3,
what the tag rewrite job runs on each MP3 (plus a download and an upload on S3).

It proves, and says so, that the rewrite
- does not re-encode: the MPEG frames after the tag are byte-identical, and no ffmpeg process is started
  (the phase's child-process CPU time is 0);
- does not read the file into memory: the peak of Python allocations stays at a few MiB (the 1 MiB copy block and
  the cover image), far below the file's size, and the peak RSS is that of the copy.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import Phase, measure  # noqa: E402

from episodes.media.retag import CHUNK, id3v2_size, retag_mp3  # noqa: E402
from episodes.media.tags import ChapterMark, TagMeta, write_id3  # noqa: E402

SPEECH = "anoisesrc=c=pink:a=0.3:r=44100:seed=7:d={d},highpass=f=100,lowpass=f=5000"


def make_mp3(path: Path, seconds: float, exe: str) -> None:
    """A 128 kb/s CBR MP3 with the tags processing writes (so the rewrite replaces a real tag)."""
    subprocess.run(
        [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i", SPEECH.format(d=seconds),
         "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", "-write_xing", "1", "-id3v2_version", "3", str(path)],
        check=True,
    )  # fmt: skip
    write_id3(path, TagMeta(title="Тиждень 1", show="Ukraine Insights", date="2026-12-01"), duration=seconds)


def make_cover(path: Path) -> Path:
    """A 1400×1400 JPEG with detail (noise over a gradient), a few hundred KB like a real cover."""
    from PIL import Image

    noise = Image.effect_noise((1400, 1400), 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize((1400, 1400)).convert("RGB")
    Image.blend(noise, gradient, 0.6).save(path, format="JPEG", quality=85)
    return path


def frames_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        fh.seek(id3v2_size(fh))
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def with_python_peak(fn: Callable[[], None], out: Path) -> Callable[[], None]:
    """fn, writing the peak of Python allocations (bytes) while it ran to ``out``."""

    def run() -> None:
        tracemalloc.start()
        fn()
        out.write_text(str(tracemalloc.get_traced_memory()[1]))
        tracemalloc.stop()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3, help="each phase this many times, alternating; best kept")
    args = parser.parse_args()
    import imageio_ffmpeg

    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="bench-retag-") as tmp:
        folder = Path(tmp)
        source = folder / "source.mp3"
        started = time.perf_counter()
        make_mp3(source, seconds, imageio_ffmpeg.get_ffmpeg_exe())
        size = source.stat().st_size
        print(f"source: {args.minutes:g} min MP3, {size / 1e6:.1f} MB (made in {time.perf_counter() - started:.1f} s)")
        chapters = tuple(ChapterMark(i * seconds / 12, None, f"Розділ {i + 1}") for i in range(12))
        cover = make_cover(folder / "cover.jpg")
        meta = TagMeta(title="Тиждень 1: нова назва", show="Ukraine Insights", author="Newsroom", date="2026-12-06",
                       description="Опис " * 200, language="ukr", cover=cover,
                       chapters=chapters, number=1, season=2)  # fmt: skip
        copy_target, retag_target = folder / "copy.mp3", folder / "retagged.mp3"

        def copy() -> None:
            with source.open("rb") as src, copy_target.open("wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)

        def rewrite() -> None:
            retag_mp3(source, retag_target, meta, duration=seconds)

        phases: dict[str, list[tuple[Phase, int]]] = {"copy": [], "retag": []}
        for _ in range(args.rounds):
            for name, fn in (("copy", copy), ("retag", rewrite)):
                peak_file = folder / f"{name}.peak"
                phase = measure(with_python_peak(fn, peak_file))
                phases[name].append((phase, int(peak_file.read_text())))
        best = {name: min(runs, key=lambda run: run[0].wall_s) for name, runs in phases.items()}
        print(f"{'phase':<8}{'wall s':>9}{'cpu s':>9}{'child RSS KiB':>15}{'peak RSS MiB':>14}{'python peak MiB':>17}")
        for name, (phase, python_peak) in best.items():
            child = "none" if phase.children_rss_kib == 0 else f"{phase.children_rss_kib}"
            print(f"{name:<8}{phase.wall_s:>9.3f}{phase.cpu_s:>9.3f}{child:>15}{phase.self_rss_kib / 1024:>14.1f}"
                  f"{python_peak / 2**20:>17.2f}")  # fmt: skip
        copy_phase, retag_phase = best["copy"][0], best["retag"][0]
        print(f"ratio retag/copy: wall {retag_phase.wall_s / copy_phase.wall_s:.3f}, "
              f"peak RSS {retag_phase.self_rss_kib / copy_phase.self_rss_kib:.3f}")  # fmt: skip

        same_frames = frames_digest(source) == frames_digest(retag_target)
        python_peak = best["retag"][1]
        print(f"MPEG frames byte-identical after the new tag: {same_frames}")
        print(f"ffmpeg (or any child process) started by the rewrite: {retag_phase.children_rss_kib != 0}")
        print(f"Python allocation peak {python_peak / 2**20:.2f} MiB = {python_peak / size:.3f} of the file's size "
              f"(the cover is {cover.stat().st_size / 2**20:.2f} MiB, a copy block 1 MiB)")  # fmt: skip
        with retag_target.open("rb") as fh:
            print(f"new tag: {id3v2_size(fh) / 1024:.0f} KiB; file {retag_target.stat().st_size} B")
        print(f"this process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        # What may be held at once: the cover (read, framed, serialised) and a copy block or two; never the file.
        allowed = 3 * cover.stat().st_size + 4 * CHUNK
        if not same_frames or retag_phase.children_rss_kib != 0 or python_peak > allowed:
            raise SystemExit("FAILED: the rewrite re-encoded, started a process or held the file in memory")


if __name__ == "__main__":
    main()
