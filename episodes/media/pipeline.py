"""Top-level processing: probe → plan → analyse loudness → encode once → package → describe outputs.

Usage::

    from episodes.media import MediaConfig, TagMeta, process

    result = process(Path("upload.bin"), Path("/tmp/job-42"), TagMeta(title="Episode 5"), MediaConfig(),
                     on_progress=lambda stage, pct: print(stage, pct))
    for out in result.outputs:
        print(out.kind, out.path, out.mime, out.size_bytes, out.sha256)

Outputs are produced in a hidden staging folder inside ``workdir`` and moved into place only when every
step succeeded, so a failure never leaves half-written files that look like outputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from . import ffmpeg, hls, video_argv
from .config import MediaConfig
from .errors import MediaRejected
from .loudness import Loudness, parse_analysis, solve_gain
from .plan import Plan, VideoRung, plan
from .probe import ProbeResult, probe
from .runner import RunResult, run
from .storyboard import storyboard_vtt
from .tags import ChapterMark, TagMeta, write_id3, write_mp4, write_opus
from .waveform import WaveformBuilder

StageFn = Callable[[str, float], None]
"""Called as ``on_progress(stage, overall_percent)``; stages: probe, analyse, encode, package, finalise."""


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One rendition, described for storage and the API; paths are relative to the workdir."""

    kind: str
    path: str
    mime: str
    size_bytes: int
    sha256: str
    codec: str | None = None
    bitrate: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    label: str | None = None
    files: tuple[str, ...] = ()


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _describe(root: Path, rel: str, kind: str, mime: str, **extra: Any) -> OutputFile:
    path = root / rel
    return OutputFile(kind=kind, path=rel, mime=mime, size_bytes=path.stat().st_size, sha256=_sha256(path), **extra)


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
        if enc.muxer == "mp3":
            write_id3(path, meta, duration=p.duration)
        elif enc.muxer == "ipod":
            write_mp4(path, meta)
        elif enc.muxer == "ogg":
            write_opus(path, meta)


def _audio_outputs(staging: Path, p: Plan) -> list[OutputFile]:
    return [
        _describe(
            staging,
            enc.filename,
            enc.kind,
            enc.mime,
            codec=enc.codec,
            bitrate=enc.bitrate,
            duration=_duration(staging / enc.filename),
        )
        for enc in p.audio
    ]


def _duration(path: Path) -> float | None:
    import av

    with av.open(str(path)) as container:
        return container.duration / 1_000_000 if container.duration else None


def _write_waveform(staging: Path, builder: WaveformBuilder) -> OutputFile:
    (staging / "waveform.json").write_text(json.dumps(builder.result(), separators=(",", ":")))
    return _describe(staging, "waveform.json", "waveform", "application/json")


def _waveform_builder(config: MediaConfig) -> WaveformBuilder:
    spp = max(1, config.waveform_sample_rate // max(1, config.waveform_pixels_per_second))
    return WaveformBuilder(sample_rate=config.waveform_sample_rate, samples_per_pixel=spp)


def _commit(staging: Path, workdir: Path) -> None:
    """Move finished outputs from the staging folder into the workdir (replacing a previous run's)."""
    for entry in staging.iterdir():
        target = workdir / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)
    staging.rmdir()


def _staged(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    staging = workdir / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    return staging


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
    staging = _staged(workdir)
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
        _commit(staging, workdir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    stages("finalise", 100)
    return ProcessResult("audio", info, p, tuple(outputs), loudness, gain)


# Apple HLS authoring spec 1.30: a VOD variant's peak segment rate SHOULD stay within 2× its average.
MAX_PEAK_TO_AVERAGE = 2
# Re-encoding a rung at a constant rate pads its quiet parts: never by more than twice its capped-CRF size.
MAX_CONSTANT_RATE_GROWTH = 2
MIN_CONSTANT_VIDEO_BITRATE = 100_000


def constant_rate_for(variant: hls.Variant, rung: VideoRung, audio_bitrate: int) -> int | None:
    """The video bit rate to encode ``rung`` again at when its capped-CRF encode breaks the peak rule; None
    when it keeps it.

    The whole variant then runs at half the old peak (the busy part keeps half its bits, the rest is padded),
    but at most at ``MAX_CONSTANT_RATE_GROWTH`` × the old average (an hour of slides before ten busy seconds
    must not grow twentyfold), and never above the rung's cap.
    """
    if variant.bandwidth <= MAX_PEAK_TO_AVERAGE * variant.average_bandwidth:
        return None
    total = min(variant.bandwidth // MAX_PEAK_TO_AVERAGE, MAX_CONSTANT_RATE_GROWTH * variant.average_bandwidth)
    return max(MIN_CONSTANT_VIDEO_BITRATE, min(rung.maxrate, total - audio_bitrate))


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


def _describe_hls(staging: Path, p: Plan) -> OutputFile:
    """Measure the variants the encode wrote and write the master playlist (ffmpeg's lacks measured peaks)."""
    variants = []
    for rung in p.rungs:
        codecs = hls.avc1_codec(staging / rung.filename) + (",mp4a.40.2" if p.has_audio else "")
        playlist = staging / "hls" / rung.name / "index.m3u8"
        variants.append(hls.measure_variant(playlist, rung, codecs=codecs, uri=f"{rung.name}/index.m3u8"))
    (staging / "hls" / "master.m3u8").write_text(hls.master_playlist(variants))
    files = sorted(str(f.relative_to(staging)) for f in (staging / "hls").rglob("*") if f.is_file())
    top = variants[0]
    out = _describe(
        staging,
        "hls/master.m3u8",
        "hls",
        "application/vnd.apple.mpegurl",
        codec=top.codecs,
        bitrate=top.bandwidth,
        width=top.width,
        height=top.height,
        duration=p.duration,
    )
    total = sum((staging / f).stat().st_size for f in files)
    return replace(out, size_bytes=total, files=tuple(files))


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
    staging = _staged(workdir)
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
        outputs = [
            _describe(
                staging,
                r.filename,
                "video_mp4",
                "video/mp4",
                label=r.name,
                width=r.width,
                height=r.height,
                codec=hls.avc1_codec(staging / r.filename) + (",mp4a.40.2" if p.has_audio else ""),
                bitrate=_bitrate(staging / r.filename),
                duration=_duration(staging / r.filename),
            )
            for r in p.rungs
        ]
        outputs.append(_describe_hls(staging, p))
        im = p.images
        assert im is not None  # noqa: S101 - video plans always have images
        (staging / "storyboard.vtt").write_text(storyboard_vtt(im, p.duration, "storyboard.jpg"))
        outputs += [
            _describe(staging, "poster.jpg", "poster", "image/jpeg", width=im.poster_width, height=im.poster_height),
            _describe(
                staging,
                "thumbnail.jpg",
                "thumbnail",
                "image/jpeg",
                width=im.thumb_width,
                height=im.thumb_height,
            ),
            _describe(
                staging,
                "storyboard.jpg",
                "storyboard",
                "image/jpeg",
                width=im.tile_width * im.columns,
                height=im.tile_height * im.rows,
            ),
            _describe(staging, "storyboard.vtt", "storyboard_vtt", "text/vtt"),
        ]
        if p.has_audio and builder is not None:
            _tag_audio(staging, p, replace(meta, chapters=_chapters(meta, info)))
            outputs += [*_audio_outputs(staging, p), _write_waveform(staging, builder)]
        stages("finalise", 0)
        _commit(staging, workdir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    stages("finalise", 100)
    return ProcessResult("video", info, p, tuple(outputs), loudness, gain)


def _bitrate(path: Path) -> int | None:
    import av

    with av.open(str(path)) as container:
        return int(container.bit_rate) if container.bit_rate else None


def process(
    source: Path, workdir: Path, meta: TagMeta, config: MediaConfig, on_progress: StageFn | None = None
) -> ProcessResult:
    """Probe, then run the audio or video pipeline; raise MediaRejected with a producer-facing reason."""
    info = probe(source, config)
    if info.kind == "rejected":
        raise MediaRejected(info.reason or "This file cannot be processed.")
    handler = process_audio if info.kind == "audio" else process_video
    return handler(source, workdir, meta, config, on_progress, probed=info)
