"""Top-level processing: probe → plan → analyse loudness → encode once → package → describe outputs.

Usage::

    from episodes.media import MediaConfig, TagMeta, process

    result = process(Path("upload.bin"), Path("/tmp/job-42"), TagMeta(title="Episode 5"), MediaConfig(),
                     on_progress=lambda stage, pct: print(stage, pct))
    for out in result.outputs:
        print(out.kind, out.path, out.mime, out.size_bytes, out.sha256)

Outputs are produced in a hidden staging folder inside ``workdir`` and moved into place only when every
step succeeded, so a failure never leaves half-written files that look like outputs (episodes.media.outputs).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from . import ffmpeg, hls, video_argv
from .config import MediaConfig
from .errors import MediaRejected
from .hls import constant_rate_for
from .loudness import Loudness, parse_analysis, solve_gain
from .outputs import OutputFile, commit, container_facts, describe, staged
from .plan import Plan, plan
from .probe import ProbeResult, probe
from .runner import RunResult, run
from .storyboard import storyboard_vtt
from .tags import ChapterMark, TagMeta, write_id3, write_mp4, write_opus
from .waveform import WaveformBuilder

StageFn = Callable[[str, float], None]
"""Called as ``on_progress(stage, overall_percent)``; stages: probe, analyse, encode, package, finalise."""


@dataclass(frozen=True, slots=True)
class ProcessResult:
    """Everything a job needs to record: what the source was, what was made, how loud it measured."""

    kind: Literal["audio", "video"]
    probe: ProbeResult
    plan: Plan
    outputs: tuple[OutputFile, ...]
    loudness: Loudness | None
    gain_db: float | None

    def output(self, kind: str) -> OutputFile | None:
        return next((o for o in self.outputs if o.kind == kind), None)


class _Stages:
    """Map each stage's own 0–100 onto a slice of the overall 0–100."""

    def __init__(self, callback: StageFn | None, spans: dict[str, tuple[float, float]]) -> None:
        self.callback, self.spans = callback, spans

    def __call__(self, stage: str, percent: float = 0.0) -> None:
        if self.callback is not None:
            lo, hi = self.spans[stage]
            self.callback(stage, round(lo + (hi - lo) * percent / 100, 1))

    def runner(self, stage: str) -> Callable[[float], None]:
        return lambda pct: self(stage, pct)


def _run(
    argv: list[str],
    config: MediaConfig,
    duration: float,
    on_progress: Callable[[float], None],
    sink: Callable[[bytes], None] | None = None,
) -> RunResult:
    """Run with a timeout scaled to the media duration and the configured stall limit."""
    return run(
        argv,
        duration_s=duration,
        timeout_s=config.timeout_base_s + config.timeout_per_media_s * duration,
        stall_s=config.stall_timeout_s,
        on_progress=on_progress,
        stdout_sink=sink,
    )


def _analyse(p: Plan, config: MediaConfig, stages: _Stages) -> tuple[Loudness | None, float | None]:
    if not p.has_audio:
        return None, None
    stages("analyse", 0)
    result = _run(ffmpeg.analysis_argv(p, config.ffmpeg_exe()), config, p.duration, stages.runner("analyse"))
    loudness, curve = parse_analysis(
        result.stderr_lines,
        ffmpeg.LIMITER_PROBE_GAINS,
        programme=ffmpeg.PROGRAMME_METER,
        reference=ffmpeg.REFERENCE_METER,
        candidate=ffmpeg.candidate_meter,
    )
    ceiling = ffmpeg.limiter_ceiling_db(p.target_true_peak_db)
    return loudness, solve_gain(loudness, curve, p.target_lufs, ceiling_db=ceiling)


def _chapters(meta: TagMeta, source: ProbeResult) -> tuple[ChapterMark, ...]:
    if meta.chapters:
        return meta.chapters
    return tuple(ChapterMark(c.start, c.end, c.title) for c in source.chapters)


def _tag_audio(staging: Path, p: Plan, meta: TagMeta) -> None:
    for enc in p.audio:
        path = staging / enc.filename
        if enc.muxer == "mp3":  # chapter ends fill up to what was written, not the source header's promise
            write_id3(path, meta, duration=container_facts(path)[0] or p.duration)
        elif enc.muxer == "ipod":
            write_mp4(path, meta)
        elif enc.muxer == "ogg":
            write_opus(path, meta, duration=p.duration)


def _audio_outputs(staging: Path, p: Plan) -> list[OutputFile]:
    return [
        describe(
            staging,
            enc.filename,
            enc.kind,
            enc.mime,
            codec=enc.codec,
            bitrate=enc.bitrate,
            duration=container_facts(staging / enc.filename)[0],
        )
        for enc in p.audio
    ]


def _write_waveform(staging: Path, builder: WaveformBuilder) -> OutputFile:
    (staging / "waveform.json").write_text(json.dumps(builder.result(), separators=(",", ":")))
    return describe(staging, "waveform.json", "waveform", "application/json")


def _waveform_builder(config: MediaConfig) -> WaveformBuilder:
    spp = max(1, config.waveform_sample_rate // max(1, config.waveform_pixels_per_second))
    return WaveformBuilder(sample_rate=config.waveform_sample_rate, samples_per_pixel=spp)


def process_audio(
    source: Path,
    workdir: Path,
    meta: TagMeta,
    config: MediaConfig,
    on_progress: StageFn | None = None,
    *,
    probed: ProbeResult | None = None,
) -> ProcessResult:
    """MP3 + AAC (M4A) + Opus, loudness-normalised in one encode, tagged, plus waveform peaks."""
    stages = _Stages(
        on_progress,
        {"probe": (0, 2), "analyse": (2, 10), "encode": (10, 95), "package": (95, 98), "finalise": (98, 100)},
    )
    stages("probe")
    info = probed or probe(source, config)
    p = plan(info, config)
    if p.kind != "audio":
        raise MediaRejected("This upload is a video; process it as a video.")
    staging = staged(workdir)
    try:
        loudness, gain = _analyse(p, config, stages)
        builder = _waveform_builder(config)
        chapters = _chapters(meta, info)
        chapters_file = None
        if chapters:
            chapters_file = staging / "chapters.ffmeta"
            chapters_file.write_text(ffmpeg.chapters_ffmetadata(chapters, p.duration), encoding="utf-8")
        stages("encode", 0)
        argv = ffmpeg.audio_encode_argv(
            p,
            gain_db=gain or 0.0,
            exe=config.ffmpeg_exe(),
            outdir=staging,
            waveform_rate=builder.sample_rate,
            chapters_file=chapters_file,
        )
        _run(argv, config, p.duration, stages.runner("encode"), builder.feed)
        if chapters_file is not None:
            chapters_file.unlink()
        stages("package", 0)
        _tag_audio(staging, p, replace(meta, chapters=chapters))
        outputs = [*_audio_outputs(staging, p), _write_waveform(staging, builder)]
        stages("finalise", 0)
        commit(staging, workdir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    stages("finalise", 100)
    return ProcessResult("audio", info, p, tuple(outputs), loudness, gain)


def _share_of(stages: _Stages, stage: str, index: int, count: int) -> Callable[[float], None]:
    """Progress of the ``index``-th of ``count`` equal steps of ``stage``."""
    return lambda pct: stages(stage, (100 * index + pct) / count)


def _conform_peaks(staging: Path, p: Plan, config: MediaConfig, stages: _Stages) -> None:
    """Encode again, at a constant rate, each rung whose segments peak above twice its average (content
    mostly still, then very busy, can do that under a capped CRF). Its MP4 and HLS variant are replaced."""
    for index, rung in enumerate(p.rungs):
        playlist = staging / "hls" / rung.name / "index.m3u8"
        variant = hls.measure_variant(playlist, rung, codecs="", uri="")
        bitrate = constant_rate_for(variant, rung, rung.audio_bitrate if p.has_audio else 0)
        if bitrate is None:
            continue
        scratch = staging / ".constant-rate"
        (scratch / "hls" / rung.name).mkdir(parents=True)
        argv = video_argv.rung_constant_rate_argv(
            p,
            rung,
            video_bitrate=bitrate,
            sound=staging / rung.filename if p.has_audio else None,
            exe=config.ffmpeg_exe(),
            outdir=scratch,
        )
        _run(argv, config, p.duration, _share_of(stages, "package", index, len(p.rungs)))
        os.replace(scratch / rung.filename, staging / rung.filename)
        shutil.rmtree(playlist.parent)
        os.replace(scratch / "hls" / rung.name, playlist.parent)
        shutil.rmtree(scratch)


def _describe_ladder(staging: Path, p: Plan) -> list[OutputFile]:
    """Each rung's MP4, then the HLS package, whose master playlist is written here from the measured variants
    (ffmpeg's lacks measured peaks). Each MP4 is opened once for its facts and once for its avcC."""
    mp4s = []
    for rung in p.rungs:
        duration, bitrate = container_facts(staging / rung.filename)
        codecs = hls.avc1_codec(staging / rung.filename) + (",mp4a.40.2" if p.has_audio else "")
        mp4s.append(
            describe(
                staging,
                rung.filename,
                "video_mp4",
                "video/mp4",
                label=rung.name,
                width=rung.width,
                height=rung.height,
                codec=codecs,
                bitrate=bitrate,
                duration=duration,
            )
        )
    variants = [
        hls.measure_variant(
            staging / "hls" / rung.name / "index.m3u8", rung, codecs=mp4.codec or "", uri=f"{rung.name}/index.m3u8"
        )
        for rung, mp4 in zip(p.rungs, mp4s, strict=True)
    ]
    (staging / "hls" / "master.m3u8").write_text(hls.master_playlist(variants))
    files = sorted(str(f.relative_to(staging)) for f in (staging / "hls").rglob("*") if f.is_file())
    top = variants[0]
    written = sum(s.duration for s in top.segments)  # a damaged source's header may promise more
    package = describe(
        staging,
        "hls/master.m3u8",
        "hls",
        "application/vnd.apple.mpegurl",
        codec=top.codecs,
        bitrate=top.bandwidth,
        width=top.width,
        height=top.height,
        duration=round(written, 3) if written > 0 else p.duration,
    )
    total = sum((staging / f).stat().st_size for f in files)
    return [*mp4s, replace(package, size_bytes=total, files=tuple(files))]


def process_video(
    source: Path,
    workdir: Path,
    meta: TagMeta,
    config: MediaConfig,
    on_progress: StageFn | None = None,
    *,
    probed: ProbeResult | None = None,
) -> ProcessResult:
    """H.264 ladder (MP4 + HLS), poster, thumbnail, storyboard + VTT, and the audio as M4A/MP3 + waveform."""
    stages = _Stages(
        on_progress,
        {"probe": (0, 2), "analyse": (2, 5), "encode": (5, 94), "package": (94, 98), "finalise": (98, 100)},
    )
    stages("probe")
    info = probed or probe(source, config)
    p = plan(info, config)
    if p.kind != "video":
        raise MediaRejected("This upload has no video picture; process it as audio.")
    staging = staged(workdir)
    try:
        loudness, gain = _analyse(p, config, stages)
        builder = _waveform_builder(config) if p.has_audio else None
        stages("encode", 0)
        for folder in video_argv.hls_variant_dirs(p, staging):
            folder.mkdir(parents=True)
        argv = video_argv.video_encode_argv(
            p,
            gain_db=gain,
            exe=config.ffmpeg_exe(),
            outdir=staging,
            waveform_rate=builder.sample_rate if builder else None,
        )
        _run(argv, config, p.duration, stages.runner("encode"), builder.feed if builder else None)
        stages("package", 0)
        _conform_peaks(staging, p, config, stages)
        outputs = _describe_ladder(staging, p)
        im = p.images
        assert im is not None  # noqa: S101 - video plans always have images
        written = outputs[0].duration or p.duration  # the top rung as written, not the source's header
        (staging / "storyboard.vtt").write_text(storyboard_vtt(im, written, "storyboard.jpg"))
        outputs += [
            describe(staging, "poster.jpg", "poster", "image/jpeg", width=im.poster_width, height=im.poster_height),
            describe(
                staging,
                "thumbnail.jpg",
                "thumbnail",
                "image/jpeg",
                width=im.thumb_width,
                height=im.thumb_height,
            ),
            describe(
                staging,
                "storyboard.jpg",
                "storyboard",
                "image/jpeg",
                width=im.tile_width * im.columns,
                height=im.tile_height * im.rows,
            ),
            describe(staging, "storyboard.vtt", "storyboard_vtt", "text/vtt"),
        ]
        if p.has_audio and builder is not None:
            _tag_audio(staging, p, replace(meta, chapters=_chapters(meta, info)))
            outputs += [*_audio_outputs(staging, p), _write_waveform(staging, builder)]
        stages("finalise", 0)
        commit(staging, workdir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    stages("finalise", 100)
    return ProcessResult("video", info, p, tuple(outputs), loudness, gain)


def process(
    source: Path, workdir: Path, meta: TagMeta, config: MediaConfig, on_progress: StageFn | None = None
) -> ProcessResult:
    """Probe, then run the audio or video pipeline; raise MediaRejected with a producer-facing reason."""
    info = probe(source, config)
    if info.kind == "rejected":
        raise MediaRejected(info.reason or "This file cannot be processed.")
    handler = process_audio if info.kind == "audio" else process_video
    return handler(source, workdir, meta, config, on_progress, probed=info)
