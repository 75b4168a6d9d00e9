"""Chunked video encode benchmark: critical path, CPU overhead and VMAF against the whole-file encode.

Usage::

    uv run python bench/bench_chunked.py --seconds 30 --chunks 4      # develop with a short source
    uv run python bench/bench_chunked.py --seconds 600 --chunks 8     # the 10-minute 1080p30 measurement

Both sides encode the same generated 1080p30 upload (bench_video_ladder's "phone" source) with the same plan:
- whole: ``process_video`` (analysis, one-decode ladder, audio, images) as one job runs it;
- chunked: each chunk's ``encode_chunk`` one after another, the programme's sound (``encode_programme_audio``)
  and the ``join_chunks`` step, each in its own forked process so its CPU seconds are its own.
A fleet with one worker per chunk would wait for the longest chunk (or the sound, which runs beside the chunks)
and then the join: that is the critical path. The CPU ratio (all chunked steps against the whole-file encode) is
the overhead; both ratios come from one run, and CPU seconds do not care about the machine's other tenants.

Quality: libvmaf (the bundled ffmpeg's) scores each rung of both sides against the upload scaled to the rung,
in one pass: every ``--vmaf-every``-th frame for the averages, and every frame within 1 s of each chunk join
for the minimum there.
"""

from __future__ import annotations

import argparse
import heapq
import json
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_video_ladder import make_source  # noqa: E402
from support import Phase, loadavg, measure  # noqa: E402

from episodes.media import MediaConfig, TagMeta, probe, process_video  # noqa: E402
from episodes.media.chunks import ChunkSpan, chunk_spans, encode_chunk  # noqa: E402
from episodes.media.join import encode_programme_audio, join_chunks  # noqa: E402
from episodes.media.plan import Plan, plan  # noqa: E402

JOIN_WINDOW_S = 1.0


def vmaf_argv(exe: str, p: Plan, source: Path, sides: dict[str, Path], select: str, logs: Path) -> list[str]:
    """One decode of the upload, split to every rung size, each side's rung scored against it (libvmaf)."""
    inputs = ["-i", str(source)]
    chains = []
    n_refs = len(p.rungs) * len(sides)
    chains.append(f"[0:v]select='{select}',split={n_refs}" + "".join(f"[r{k}]" for k in range(n_refs)))
    k = 0
    for side, folder in sides.items():
        for rung in p.rungs:
            inputs += ["-i", str(folder / rung.filename)]
            idx = len(inputs) // 2 - 1
            log = logs / f"{side}-{rung.name}.json"
            chains.append(f"[r{k}]scale={rung.width}:{rung.height}:flags=bicubic,format=yuv420p[ref{k}]")
            chains.append(f"[{idx}:v]select='{select}',format=yuv420p[dis{k}]")
            chains.append(f"[dis{k}][ref{k}]libvmaf=log_fmt=json:log_path={log}:n_threads=2")
            k += 1
    return [exe, "-hide_banner", "-loglevel", "error", "-nostdin", *inputs, "-filter_complex", ";".join(chains),
            "-f", "null", "-"]  # fmt: skip


def selection(frames: int, fps: float, every_s: int, joins: list[float]) -> tuple[str, list[int]]:
    """The select expression and the frame numbers it keeps (libvmaf numbers the kept frames 0, 1, …).

    By frame number, never by time (the sides may stamp their first frame differently), and in runs of
    consecutive frames (VMAF's motion feature compares each frame with the one before): one second every
    ``every_s`` seconds for the averages, and every frame within JOIN_WINDOW_S of each join.
    """
    block, period = round(fps), round(fps * every_s)
    windows = [(round(j * fps - JOIN_WINDOW_S * fps), round(j * fps + JOIN_WINDOW_S * fps)) for j in joins]
    near = "+".join(f"between(n,{a},{b})" for a, b in windows)
    expr = f"lt(mod(n,{period}),{block})" + (f"+{near}" if near else "")
    kept = [n for n in range(frames) if n % period < block or any(a <= n <= b for a, b in windows)]
    return expr, kept


def scores(log: Path) -> list[float]:
    return [f["metrics"]["vmaf"] for f in json.loads(log.read_text())["frames"]]


def fleet_latency(parts: list[float], join_s: float, workers: int) -> float:
    """When the join ends on a fleet of ``workers`` single-job workers that take the queued parts in order (as
    Celery hands them out), each part lasting what it took here: the last part's end, then the join."""
    free = [0.0] * workers
    for length in parts:
        start = heapq.heappop(free)
        heapq.heappush(free, start + length)
    return max(free) + join_s


def run_chunk(p: Plan, span: ChunkSpan, folder: Path, config: MediaConfig) -> None:
    encode_chunk(p, span, folder, config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--chunks", type=int, default=4, help="split the source into about this many chunks")
    # Five, not six: chunk starts fall on multiples of the 6 s segment, and a sampled second at every chunk start
    # (where each chunk's rate control starts with a full buffer) would weigh the averages toward the joins.
    parser.add_argument("--vmaf-every", type=int, default=5, help="score one second in this many")
    parser.add_argument("--keep", type=Path, default=None, help="keep the outputs in this folder")
    args = parser.parse_args()
    # The machine is shared: no run may be stopped for being slow (the pipeline's timeouts assume a free machine).
    config = MediaConfig(timeout_base_s=7200, timeout_per_media_s=60, stall_timeout_s=1800)
    exe = config.ffmpeg_exe()
    tmp = Path(tempfile.mkdtemp(prefix="bench-chunked-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        source = tmp / "upload.mp4"
        if not source.exists():
            make_source(source, args.seconds, exe, "phone")
        info = probe(source, config)
        p = plan(info, config)
        spans = chunk_spans(p, p.duration / args.chunks)
        print(f"source {p.duration:.1f} s 1080p30, rungs {[r.name for r in p.rungs]}, {len(spans)} chunks of "
              f"{[round(s.length) for s in spans]} s; load {loadavg()}", flush=True)  # fmt: skip
        whole_dir, work = tmp / "whole", tmp / "chunked"
        shutil.rmtree(whole_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()

        def run_whole() -> None:
            process_video(source, whole_dir, TagMeta(title="bench"), config, probed=info)

        whole = measure(run_whole)
        print(f"whole-file: {whole.wall_s:.1f} s wall, {whole.cpu_s:.1f} CPU-s; load {loadavg()}", flush=True)
        chunks: list[Phase] = []
        dirs = []
        for span in spans:
            folder = work / f"c{span.index:03d}"
            dirs.append(folder)
            chunks.append(measure(partial(run_chunk, p, span, folder, config)))
            print(f"chunk {span.index} ({span.length:.0f} s): {chunks[-1].wall_s:.1f} s wall, "
                  f"{chunks[-1].cpu_s:.1f} CPU-s", flush=True)  # fmt: skip
        audio = measure(lambda: encode_programme_audio(p, work / "audio", config))
        print(f"programme sound: {audio.wall_s:.1f} s wall, {audio.cpu_s:.1f} CPU-s", flush=True)

        def run_join() -> None:
            join_chunks(p, info, dirs, work / "audio", work, TagMeta(title="bench"), config,
                        fetch_source=lambda: source)  # fmt: skip

        join = measure(run_join)
        print(f"join: {join.wall_s:.1f} s wall, {join.cpu_s:.1f} CPU-s; load {loadavg()}", flush=True)
        longest_wall = max(c.wall_s for c in chunks)
        longest_cpu = max(c.cpu_s for c in chunks)
        total_cpu = sum(c.cpu_s for c in chunks) + audio.cpu_s + join.cpu_s
        print("\n== ratios (one run) ==")
        print(f"critical path, wall: (longest chunk {longest_wall:.1f} + join {join.wall_s:.1f}) / whole "
              f"{whole.wall_s:.1f} = {(longest_wall + join.wall_s) / whole.wall_s:.3f}  (target ≤ 0.2)")  # fmt: skip
        print(f"critical path, CPU-s: (longest chunk {longest_cpu:.1f} + join {join.cpu_s:.1f}) / whole "
              f"{whole.cpu_s:.1f} = {(longest_cpu + join.cpu_s) / whole.cpu_s:.3f}")  # fmt: skip
        beside = max(longest_cpu, audio.cpu_s)
        print(f"  with the sound step beside the chunks: (max(chunk, sound {audio.cpu_s:.1f}) + join) / whole = "
              f"{(beside + join.cpu_s) / whole.cpu_s:.3f} (CPU-s)")  # fmt: skip
        print(f"overhead, CPU-s: (chunks {sum(c.cpu_s for c in chunks):.1f} + sound {audio.cpu_s:.1f} + join "
              f"{join.cpu_s:.1f}) / whole {whole.cpu_s:.1f} = {total_cpu / whole.cpu_s:.3f}"
              "  (target ≤ 1.10)")  # fmt: skip
        parts = [c.cpu_s for c in chunks] + [audio.cpu_s]
        for workers in (4, 8, 16):
            lat = fleet_latency(parts, join.cpu_s, workers)
            print(f"  {workers} workers ({len(parts)} parts, queue order): ≈ {lat / whole.cpu_s:.3f} × whole")
        fps = float(p.rungs[0].fps)
        frames = round(p.duration * fps)
        joins = [s.start for s in spans[1:]]
        expr, kept = selection(frames, fps, args.vmaf_every, joins)
        logs = tmp / "vmaf"
        logs.mkdir(exist_ok=True)
        started = time.monotonic()
        subprocess.run(vmaf_argv(exe, p, source, {"whole": whole_dir, "chunked": work}, expr, logs), check=True)
        print(f"\n== VMAF ({len(kept)} frames a rung, {time.monotonic() - started:.0f} s) ==")
        for rung in p.rungs:
            w, c = scores(logs / f"whole-{rung.name}.json"), scores(logs / f"chunked-{rung.name}.json")
            period, block = round(fps * args.vmaf_every), round(fps)
            sampled = [i for i, n in enumerate(kept) if n % period < block]
            near = [i for i, n in enumerate(kept) if any(abs(n - j * fps) <= JOIN_WINDOW_S * fps for j in joins)]
            mean_w, mean_c = (sum(x[i] for i in sampled) / len(sampled) for x in (w, c))
            min_w = min((w[i] for i in near), default=float("nan"))
            min_c = min((c[i] for i in near), default=float("nan"))
            print(f"{rung.name}: mean whole {mean_w:.2f}, chunked {mean_c:.2f}, difference {mean_c - mean_w:+.2f}; "
                  f"min within {JOIN_WINDOW_S:g} s of joins: whole {min_w:.2f}, chunked {min_c:.2f}")  # fmt: skip
        print(f"load {loadavg()}")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
