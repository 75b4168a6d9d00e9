"""A long video's ladder as GOP-aligned time chunks: where to cut, and one chunk's encode (argv + run).

Usage::

    from episodes.media.chunks import chunk_spans, encode_chunk

    spans = chunk_spans(the_plan, chunk_s=75)          # boundaries on 6 s segment (and storyboard) multiples
    encode_chunk(the_plan, spans[3], outdir, config)   # outdir/<rung>.mp4 (picture only), poster.jpg, tiles/

Each chunk decodes its span of the upload once for every rung (the whole-file encode's cascade, its x264
options and forced IDR every 2 s), writes each rung as a picture-only MP4, a poster candidate and the span's
storyboard tiles. ``episodes.media.join`` concatenates the chunks' packets (no re-encode) with the sound, which
is encoded once over the whole programme. Boundaries fall on multiples of the HLS segment length, so the
joined stream has keyframes, and therefore segments, exactly where a whole-file encode puts them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import ffmpeg as ffmpeg_lib

from . import video_argv
from .config import MediaConfig
from .ffmpeg import Stream, compile_run
from .plan import ImagePlan, Plan
from .runner import RunResult, run

RUNG_FILE = "{name}.mp4"
POSTER_FILE = "poster.jpg"
TILES_DIR = "tiles"


@dataclass(frozen=True, slots=True)
class ChunkSpan:
    """Seconds [start, end) of the upload; ``end`` is the duration for the last chunk."""

    index: int
    start: float
    end: float
    last: bool

    @property
    def length(self) -> float:
        return self.end - self.start


def boundary_step(plan: Plan) -> int:
    """Chunk boundaries are multiples of this (s): the HLS segment length and the storyboard interval, so
    segments and tiles fall where a whole-file encode puts them (lcm ≤ 6 × interval ≈ 6 % of the duration)."""
    interval = plan.images.tile_interval_s if plan.images is not None else 1
    return math.lcm(plan.hls_segment_s, plan.keyframe_interval_s, interval)


def chunk_spans(plan: Plan, chunk_s: float) -> tuple[ChunkSpan, ...]:
    """Cut the duration into spans of about ``chunk_s`` on boundary multiples; a short tail joins the last."""
    step = boundary_step(plan)
    length = max(step, round(chunk_s / step) * step)
    starts = list(range(0, max(1, math.ceil(plan.duration)), length))
    # A remainder shorter than one step (or than a segment) is not worth a worker: it joins the chunk before.
    if len(starts) > 1 and plan.duration - starts[-1] < step:
        starts.pop()
    return tuple(
        ChunkSpan(
            index=i,
            start=float(start),
            end=float(starts[i + 1]) if i + 1 < len(starts) else plan.duration,
            last=i + 1 == len(starts),
        )
        for i, start in enumerate(starts)
    )


def chunk_images(images: ImagePlan, span: ChunkSpan) -> ImagePlan:
    """The chunk's share of the poster candidates at the whole video's sampling rate, and its storyboard tiles
    one by one (a 1×1 "sprite"; the join tiles them)."""
    rate = eval_rate(images.poster_sample_fps)
    candidates = max(2, min(images.poster_candidates, math.ceil(span.length * rate)))
    return replace(images, poster_candidates=candidates, columns=1, rows=1)


def eval_rate(text: str) -> float:
    """ "20/600" → 0.0333 (a rate as the plan writes it for ffmpeg)."""
    num, _, den = text.partition("/")
    return float(num) / float(den or 1)


def tiles_in(images: ImagePlan, span: ChunkSpan) -> int:
    """How many storyboard tiles (one every interval from 0) start inside the span."""
    interval = images.tile_interval_s
    first = math.ceil(span.start / interval)
    last = min(images.tile_count, math.ceil(span.end / interval))
    return max(0, last - first)


def chunk_input(plan: Plan, span: ChunkSpan) -> Stream:
    """The upload from ``span.start`` for ``span.length`` seconds, as ``untrusted_input`` opens it.

    Input-side -ss/-t cut decoded frames exactly (ffmpeg inserts trim filters), so the chunks' frame sets
    partition the upload's frames; the output timestamps start at 0.
    """
    # The first chunk starts where a whole-file encode starts: with no seek at all (an upload whose first frame is
    # stamped before its container's start time, e.g. after an edit list, lost that frame to "-ss 0").
    options: dict[str, str | int] = {"ss": f"{span.start:.6f}"} if span.start > 0 else {}
    if not span.last:
        options["t"] = f"{span.length:.6f}"
    if plan.decode_threads:
        options["threads"] = plan.decode_threads
    return ffmpeg_lib.input(str(Path(plan.source).resolve()), format=plan.demuxer, protocol_whitelist="file", **options)


def chunk_encode_argv(plan: Plan, span: ChunkSpan, *, exe: str, outdir: Path) -> list[str]:
    """One process, one decode of the span: each rung as a picture-only MP4, a poster candidate, the tiles.

    Create ``outdir / TILES_DIR`` first.
    """
    images = chunk_images(plan.images, span) if plan.images is not None else None
    chunk_plan = replace(plan, images=images, audio_channels=0, audio=())
    videos, frames = video_argv._video_graph(chunk_plan, chunk_input(plan, span))  # noqa: SLF001 - shared graph
    outputs = []
    for i, (rung, stream) in enumerate(zip(plan.rungs, videos, strict=True)):
        options: dict[str, str | int] = dict(video_argv.x264_options(plan, rung))
        options |= {"threads": rung.threads, "map_metadata": -1}
        outputs.append(ffmpeg_lib.output(stream, str(outdir / RUNG_FILE.format(name=rung.name)), format="mp4",
                                         **options))  # fmt: skip
        del i
    if frames:
        outputs.append(video_argv._image_output(frames["poster"], outdir / POSTER_FILE))  # noqa: SLF001
        # The thumbnail branch exists in the shared graph; the join makes the real one from the chosen poster.
        outputs.append(video_argv._image_output(frames["thumbnail"], outdir / "thumbnail.jpg"))  # noqa: SLF001
        tile_options = {"c:v": "mjpeg", "q:v": 3, "pix_fmt": "yuvj420p", "start_number": 0}
        outputs.append(
            ffmpeg_lib.output(
                frames["storyboard"], str(outdir / TILES_DIR / "%05d.jpg"), format="image2", **tile_options
            )  # fmt: skip
        )
    return compile_run(outputs, exe)


def encode_chunk(
    plan: Plan,
    span: ChunkSpan,
    outdir: Path,
    config: MediaConfig,
    on_progress: object = None,
) -> RunResult:
    """Run one chunk's encode into ``outdir`` (created); raises FFmpegError/FFmpegTimeout like any run."""
    (outdir / TILES_DIR).mkdir(parents=True, exist_ok=True)
    argv = chunk_encode_argv(plan, span, exe=config.ffmpeg_exe(), outdir=outdir)
    return run(
        argv,
        duration_s=span.length,
        timeout_s=config.timeout_base_s + config.timeout_per_media_s * span.length,
        stall_s=config.stall_timeout_s,
        on_progress=on_progress if callable(on_progress) else None,
    )
