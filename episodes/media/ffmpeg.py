"""Pure argv builders for every ffmpeg run of the pipeline; nothing here starts a process.

Usage::

    from episodes.media import ffmpeg

    argv = ffmpeg.analysis_argv(the_plan, exe="ffmpeg")
    argv = ffmpeg.audio_encode_argv(the_plan, gain_db=3.5, exe="ffmpeg", outdir=Path("/tmp/w"))
    # → ["ffmpeg", "-hide_banner", "-nostdin", "-y", ..., "-protocol_whitelist", "file", "-f", "mp3", ...]

Every run over untrusted input forces the probed demuxer (``-f``) so ffmpeg never re-detects the format,
and ``-protocol_whitelist file`` so nothing inside the file can make ffmpeg open another URL.
Progress goes to stdout (``-progress pipe:1``), or to stderr (``pipe:2``) for the encodes whose stdout carries
raw PCM for the waveform.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from .plan import AudioEncode, Plan, VideoRung
from .tags import ChapterMark

# Peak ceiling for the sample-peak limiter, below the true-peak target: inter-sample peaks and lossy
# encoding add up to ~1.5 dB on noisy material (measured with ebur128 on MP3/AAC/Opus outputs).
LIMITER_HEADROOM_DB = 2.0
MAX_GAIN_DB = 30.0
# Candidate gains at which the analysis pass measures the limiter's loudness loss (see loudness.py).
LIMITER_PROBE_GAINS = (-6.0, 0.0, 6.0, 12.0, 18.0, 24.0, 30.0)
# Above this duration the loss is measured on 2 s of every 10 s: the loss is a statistical property.
SAMPLED_ANALYSIS_AFTER_S = 120.0
# BT.2100 PQ/HLG → BT.709 SDR: linearise, tone-map in float RGB (Hable keeps highlights), re-encode to
# BT.709 limited range (the zscale+tonemap recipe from the ffmpeg filter documentation).
TONEMAP_CHAIN = (
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,"
    "zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
)


def _head(exe: str, loglevel: str = "error", progress: str = "pipe:1") -> list[str]:
    # -nostdin: never read the terminal; -y: outputs live in our own workdir; -progress with -nostats gives
    # machine-readable key=value progress for the runner: on stdout, or on stderr (pipe:2) when stdout
    # carries PCM for the waveform.
    return [exe, "-hide_banner", "-nostdin", "-y", "-nostats", "-loglevel", loglevel, "-progress", progress]


def untrusted_input(path: Path, demuxer: str) -> list[str]:
    """Input options for an upload: no protocol but plain files, and the demuxer the probe approved."""
    return ["-protocol_whitelist", "file", "-f", demuxer, "-i", str(Path(path).resolve())]


def audio_prechain(channels: int, rate: int = 48000) -> str:
    """Downmix (5.1 → stereo) or keep mono, as float at the plan's rate (8 kHz mono gets upsampled)."""
    layout = "mono" if channels == 1 else "stereo"
    return f"aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts={layout}"


def loudness_chain(gain_db: float, true_peak_db: float) -> str:
    """Linear gain to the target, then a look-ahead limiter keeping peaks under the true-peak ceiling."""
    gain = max(-MAX_GAIN_DB, min(MAX_GAIN_DB, gain_db))
    limit = 10 ** ((true_peak_db - LIMITER_HEADROOM_DB) / 20)
    # level=false: no auto make-up gain; latency=true: compensate look-ahead delay (keeps A/V sync).
    return f"volume={gain:.2f}dB,alimiter=limit={limit:.4f}:attack=5:release=50:level=false:latency=true"


def analysis_argv(plan: Plan, exe: str, probe_gains: Sequence[float] = LIMITER_PROBE_GAINS) -> list[str]:
    """Measure I/TP/LRA (ebur128 peak=true: ~10× faster than loudnorm) and the limiter's loss curve."""
    limiter_branches = [f"[c{i}]" for i in range(len(probe_gains))]
    sample = "aselect='lt(mod(t,10),2)'," if plan.duration > SAMPLED_ANALYSIS_AFTER_S else ""
    parts = [
        f"[0:a:0]{audio_prechain(plan.audio_channels, plan.audio_rate)},asplit=2[m][c]",
        "[m]ebur128=peak=true:framelog=quiet[mo]",
        # Limiter loss measured on a mono 16 kHz copy: a fraction of the cost, within ~0.3 dB of 48 kHz.
        f"[c]{sample}aformat=sample_fmts=fltp:sample_rates=16000:channel_layouts=mono,"
        f"asplit={len(probe_gains) + 1}[r]{''.join(limiter_branches)}",
        "[r]ebur128=framelog=quiet[ro]",
    ]
    outputs = ["-map", "[mo]", "-f", "null", "-", "-map", "[ro]", "-f", "null", "-"]
    for label, gain in zip(limiter_branches, probe_gains, strict=True):
        parts.append(
            f"{label}{loudness_chain(gain, plan.target_true_peak_db)},ebur128=framelog=quiet[o{label[1:]}"
        )
        outputs += ["-map", f"[o{label[1:]}", "-f", "null", "-"]
    return [
        *_head(exe, loglevel="info"),  # ebur128 logs its summary at info level
        *untrusted_input(plan.source, plan.demuxer),
        "-filter_complex", ";".join(parts),
        *outputs,
    ]  # fmt: skip


def _audio_output(enc: AudioEncode, label: str, outdir: Path, chapters_input: int | None) -> list[str]:
    args = ["-map", label, "-c:a", enc.encoder, "-b:a", str(enc.bitrate), "-ar", str(enc.sample_rate)]
    # Drop the upload's global and stream tags (mutagen writes ours); "-map_metadata -1" would also blank
    # the chapter titles we map from the FFMETADATA input.
    args += ["-ac", str(enc.channels), "-map_metadata:g", "-1", "-map_metadata:s", "-1"]
    if enc.muxer == "ipod" and chapters_input is not None:
        args += ["-map_chapters", str(chapters_input)]
    else:
        args += ["-map_chapters", "-1"]
    if enc.muxer == "mp3":
        # CBR (libmp3lame's default with -b:a) plus a Xing/Info header for exact duration; tags via mutagen.
        args += ["-write_xing", "1", "-id3v2_version", "3"]
    if enc.muxer == "ipod":
        args += ["-movflags", "+faststart"]  # moov first: playback starts before the download ends
    return [*args, "-f", enc.muxer, str(outdir / enc.filename)]


def _waveform_output(label: str) -> list[str]:
    return ["-map", label, "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1"]


def waveform_filter(sample_rate: int) -> str:
    return f"aformat=sample_fmts=s16:sample_rates={sample_rate}:channel_layouts=mono"


def _chapters_input(chapters_file: Path | None) -> list[str]:
    if chapters_file is None:
        return []
    return ["-protocol_whitelist", "file", "-f", "ffmetadata", "-i", str(chapters_file.resolve())]


def audio_encode_argv(
    plan: Plan,
    *,
    gain_db: float,
    exe: str,
    outdir: Path,
    waveform_rate: int | None = 8000,
    chapters_file: Path | None = None,
) -> list[str]:
    """One decode, one process: normalise once, split to MP3/AAC/Opus (+ mono PCM for the waveform)."""
    outs = [f"[a{i}]" for i in range(len(plan.audio))]
    wave = ["[wf]"] if waveform_rate else []
    graph = (
        f"[0:a:0]{audio_prechain(plan.audio_channels, plan.audio_rate)},"
        f"{loudness_chain(gain_db, plan.target_true_peak_db)},"
        f"asplit={len(outs) + len(wave)}{''.join(outs)}{'[wsrc]' if wave else ''}"
    )
    if waveform_rate:
        graph += f";[wsrc]{waveform_filter(waveform_rate)}[wf]"
    head = _head(exe, progress="pipe:2" if waveform_rate else "pipe:1")
    argv = [*head, *untrusted_input(plan.source, plan.demuxer), *_chapters_input(chapters_file)]
    argv += ["-filter_complex", graph]
    for enc, label in zip(plan.audio, outs, strict=True):
        argv += _audio_output(enc, label, outdir, 1 if chapters_file else None)
    if waveform_rate:
        argv += _waveform_output("[wf]")
    return argv


def _video_graph(plan: Plan) -> str:
    """Decode once; cascade scale rung to rung (each scales the previous, cheaper than from source)."""
    images = plan.images
    rungs = plan.rungs
    parts: list[str] = []
    previous = "[0:v:0]"
    pre = f"{TONEMAP_CHAIN}," if plan.tone_map else ""
    for i, rung in enumerate(rungs):
        last = i == len(rungs) - 1
        branches = [f"[v{i}]"] + ([] if last else [f"[n{i}]"])
        if i == 0:
            branches.append("[psrc]")
        if last:
            branches.append("[ssrc]")
        parts.append(
            f"{previous}{pre if i == 0 else ''}{rung_filter(rung)},split={len(branches)}{''.join(branches)}"
        )
        previous = f"[n{i}]"
    if images is not None:  # eof_action=pass: a clip shorter than one sample interval still gets a frame
        im = images
        parts.append(
            f"[psrc]fps={im.poster_sample_fps}:eof_action=pass,thumbnail=n={im.poster_candidates},split=2[pbig][tsrc]"
        )
        parts.append(f"[pbig]scale={im.poster_width}:{im.poster_height}[poster]")
        parts.append(f"[tsrc]scale={im.thumb_width}:{im.thumb_height}[thumb]")
        parts.append(
            f"[ssrc]fps=1/{im.tile_interval_s}:eof_action=pass,scale={im.tile_width}:{im.tile_height},"
            f"tile={im.columns}x{im.rows}[sprite]"
        )
    return ";".join(parts)


def x264_args(plan: Plan, rung: VideoRung) -> list[str]:
    """Encoder options of one rung (shared with the benchmark's one-process-per-rung baseline)."""
    gop = str(rung.gop)
    return [
        "-c:v", "libx264", "-preset", plan.preset, "-profile:v", "high", "-level:v", rung.level,
        "-pix_fmt", "yuv420p",
        # CRF for quality with a VBV cap so peaks stay bounded (HLS BANDWIDTH vs AVERAGE-BANDWIDTH).
        "-crf", str(rung.crf), "-maxrate", str(rung.maxrate), "-bufsize", str(rung.bufsize),
        # Apple HLS authoring spec 1.13: IDR every 2 s, no scene-cut keyframes, so 6 s segments align
        # across rungs when remuxed with -c copy.
        "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{plan.keyframe_interval_s})",
    ]  # fmt: skip


def rung_filter(rung: VideoRung) -> str:
    """Constant frame rate (VFR sources too), the rung's size, square pixels, 8-bit 4:2:0."""
    fps = f"fps={rung.fps.numerator}/{rung.fps.denominator}"
    return f"{fps},scale={rung.width}:{rung.height},setsar=1,format=yuv420p"


def _rung_output(plan: Plan, rung: VideoRung, index: int, outdir: Path) -> list[str]:
    args = ["-map", f"[v{index}]", *x264_args(plan, rung)]
    if plan.has_audio:
        args += ["-map", f"[va{index}]", "-c:a", "aac", "-b:a", str(rung.audio_bitrate), "-ac", "2"]
        args += ["-ar", "48000"]
    args += ["-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart"]
    return [*args, "-f", "mp4", str(outdir / rung.filename)]


def _image_output(label: str, path: Path) -> list[str]:
    # One JPEG: -update 1 writes a single file instead of a numbered image sequence.
    return ["-map", label, "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p",
            "-f", "image2", "-update", "1", str(path)]  # fmt: skip


def video_encode_argv(
    plan: Plan,
    *,
    gain_db: float | None,
    exe: str,
    outdir: Path,
    waveform_rate: int | None = 8000,
) -> list[str]:
    """One process for the whole ladder, poster, thumbnail, storyboard and the audio-only renditions."""
    graph = _video_graph(plan)
    if plan.has_audio:
        labels = [f"[va{i}]" for i in range(len(plan.rungs))] + [f"[a{i}]" for i in range(len(plan.audio))]
        if waveform_rate:
            labels.append("[wsrc]")
        graph += (
            f";[0:a:0]{audio_prechain(plan.audio_channels, plan.audio_rate)},"
            f"{loudness_chain(gain_db or 0.0, plan.target_true_peak_db)},"
            f"asplit={len(labels)}{''.join(labels)}"
        )
        if waveform_rate:
            graph += f";[wsrc]{waveform_filter(waveform_rate)}[wf]"
    head = _head(exe, progress="pipe:2" if plan.has_audio and waveform_rate else "pipe:1")
    argv = [*head, *untrusted_input(plan.source, plan.demuxer), "-filter_complex", graph]
    for i, rung in enumerate(plan.rungs):
        argv += _rung_output(plan, rung, i, outdir)
    if plan.images is not None:
        argv += _image_output("[poster]", outdir / "poster.jpg")
        argv += _image_output("[thumb]", outdir / "thumbnail.jpg")
        argv += _image_output("[sprite]", outdir / "storyboard.jpg")
    if plan.has_audio:
        for i, enc in enumerate(plan.audio):
            argv += _audio_output(enc, f"[a{i}]", outdir, None)
        if waveform_rate:
            argv += _waveform_output("[wf]")
    return argv


def hls_argv(plan: Plan, *, exe: str, outdir: Path, hls_dir: str = "hls") -> list[str]:
    """Remux the rung MP4s (our own files) into fMP4 HLS variants with -c copy: no second encode."""
    argv = _head(exe)
    for rung in plan.rungs:
        argv += ["-protocol_whitelist", "file", "-f", "mp4", "-i", str((outdir / rung.filename).resolve())]
    stream_map = []
    for i, rung in enumerate(plan.rungs):
        argv += ["-map", f"{i}:v:0"] + (["-map", f"{i}:a:0"] if plan.has_audio else [])
        stream_map.append(f"v:{i},a:{i},name:{rung.name}" if plan.has_audio else f"v:{i},name:{rung.name}")
    base = outdir / hls_dir
    argv += [
        "-c", "copy", "-map_metadata", "-1",
        "-f", "hls", "-hls_time", str(plan.hls_segment_s), "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4", "-hls_flags", "independent_segments",
        "-hls_fmp4_init_filename", "init.mp4",
        "-hls_segment_filename", str(base / "%v" / "seg_%03d.m4s"),
        "-var_stream_map", " ".join(stream_map),
        str(base / "%v" / "index.m3u8"),
    ]  # fmt: skip
    return argv


def chapters_ffmetadata(chapters: Iterable[ChapterMark], duration: float) -> str:
    """Render chapters as an FFMETADATA1 file (for MP4 chapter atoms), escaping =;#\\ and newlines."""

    def esc(text: str) -> str:
        for ch in "\\=;#\n":
            text = text.replace(ch, "\\" + ch)
        return text

    lines = [";FFMETADATA1"]
    marks: Sequence[ChapterMark] = sorted(chapters, key=lambda c: c.start_s)
    for i, mark in enumerate(marks):
        end = (
            mark.end_s
            if mark.end_s is not None
            else (marks[i + 1].start_s if i + 1 < len(marks) else duration)
        )
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={math.floor(mark.start_s * 1000)}"]
        lines += [
            f"END={max(math.floor(end * 1000), math.floor(mark.start_s * 1000) + 1)}",
            f"title={esc(mark.title)}",
        ]
    return "\n".join(lines) + "\n"
