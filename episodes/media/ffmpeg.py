"""Pure argv builders for every ffmpeg run of the pipeline; nothing here starts a process.

Usage::

    from episodes.media import ffmpeg

    argv = ffmpeg.analysis_argv(the_plan, exe="ffmpeg")
    argv = ffmpeg.audio_encode_argv(the_plan, gain_db=3.5, exe="ffmpeg", outdir=Path("/tmp/w"))
    # → ["ffmpeg", "-f", "mp3", "-protocol_whitelist", "file", "-i", ..., "-hide_banner", "-nostdin", ..., "-y"]

Each builder describes the run as an ffmpeg-python graph (one input node per file, filters, output nodes) and
returns its ``.compile()``: ffmpeg-python places ``-filter_complex`` and the ``-map`` options and names the
filter pads (``[s0]``, ``[s1]``, …); global options come after the outputs, where ffmpeg accepts them too.
Every run over untrusted input forces the probed demuxer (``-f``) so ffmpeg never re-detects the format,
and ``-protocol_whitelist file`` so nothing inside the file can make ffmpeg open another URL.
Progress goes to stdout (``-progress pipe:1``), or to stderr (``pipe:2``) for the encodes whose stdout carries
raw PCM for the waveform.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# The ffmpeg-python library (absolute import: this module's own name does not shadow it). It ships no type
# information, so mypy sees ``Any``; its graph nodes stay inside this module as ``Stream`` values.
import ffmpeg as ffmpeg_lib

from .plan import AudioEncode, Plan, VideoRung, aac_tracks
from .tags import ChapterMark
from .tee import tee_target

Stream = Any  # an ffmpeg-python stream (input selector or filter output pad) or output node

# Peak ceiling for the sample-peak limiter, below the true-peak target: inter-sample peaks and lossy
# encoding add up to ~1.5 dB on noisy material (measured with ebur128 on MP3/AAC/Opus outputs).
LIMITER_HEADROOM_DB = 2.0
MAX_GAIN_DB = 30.0
# Candidate gains at which the analysis pass measures the limiter's loudness loss (see loudness.py).
LIMITER_PROBE_GAINS = (-6.0, 0.0, 6.0, 12.0, 18.0, 24.0, 30.0)
# Above this duration the loss is measured on 2 s windows, at most one every 10 s and about SAMPLED_WINDOWS in
# all (1 minute of a long programme): the loss is a statistical property of the peaks, not of the length
# (on 20 minutes of peaky speech with loud and quiet parts, 20 to 45 windows solve within 0.2 dB of
# 2 s in every 10).
SAMPLED_ANALYSIS_AFTER_S = 120.0
SAMPLED_WINDOW_S = 2.0
SAMPLED_WINDOWS = 30
# The analysis meters' instance names ("ebur128@<name>"), which name their summaries in ffmpeg's log.
PROGRAMME_METER = "programme"
REFERENCE_METER = "reference"
# A meter's output only carries progress to a null muxer: one frame in this many is enough, and every frame
# that crosses a thread costs (ffmpeg hands frames between its threads through queues).
METER_OUTPUT_EVERY = 64
# Waveform PCM: a short resampling filter (a display needs no steep anti-aliasing; within 1 step of 8-bit
# peaks of the default 32) and 1 s frames, so that PCM crosses ffmpeg's threads and the pipe 8000× less often.
WAVEFORM_FILTER_SIZE = 8
# BT.2100 PQ/HLG → BT.709 SDR: linearise, tone-map in float RGB (Hable keeps highlights), re-encode to
# BT.709 limited range (the zscale+tonemap recipe from the ffmpeg filter documentation).
TONEMAP_CHAIN: tuple[tuple[str, dict[str, str | int]], ...] = (
    ("zscale", {"t": "linear", "npl": 100}),
    ("format", {"pix_fmts": "gbrpf32le"}),
    ("zscale", {"p": "bt709"}),
    ("tonemap", {"tonemap": "hable", "desat": 0}),
    ("zscale", {"t": "bt709", "m": "bt709", "r": "tv"}),
    ("format", {"pix_fmts": "yuv420p"}),
)
# The FFMETADATA chapters file is the second input of the audio encode (see _with_chapters_input).
CHAPTERS_INPUT = 1


def _compile(
    outputs: Sequence[Stream],
    exe: str,
    loglevel: str = "error",
    progress: str = "pipe:1",
) -> list[str]:
    # -nostdin: never read the terminal; -y: outputs live in our own workdir; -progress with -nostats gives
    # machine-readable key=value progress for the runner: on stdout, or on stderr (pipe:2) when stdout
    # carries PCM for the waveform.
    run = ffmpeg_lib.merge_outputs(*outputs).global_args(
        "-hide_banner", "-nostdin", "-nostats", "-loglevel", loglevel, "-progress", progress
    )
    return [str(arg) for arg in run.overwrite_output().compile(cmd=exe)]


def untrusted_input(path: Path, demuxer: str) -> Stream:
    """Input node for an upload: no protocol but plain files, and the demuxer the probe approved."""
    return ffmpeg_lib.input(str(Path(path).resolve()), format=demuxer, protocol_whitelist="file")


def _fan_out(stream: Stream, count: int, *, audio: bool) -> list[Stream]:
    """Split one decoded stream into ``count`` branches (ffmpeg-python writes ``split=<count>`` itself)."""
    if count == 1:
        return [stream]
    node = stream.filter_multi_output("asplit" if audio else "split")
    return [node[i] for i in range(count)]


def audio_prechain(stream: Stream, channels: int, rate: int = 48000) -> Stream:
    """Downmix (5.1 → stereo) or keep mono, as float at the plan's rate (8 kHz mono gets upsampled)."""
    layout = "mono" if channels == 1 else "stereo"
    return stream.filter("aformat", sample_fmts="fltp", sample_rates=rate, channel_layouts=layout)


def clamp_gain(gain_db: float) -> float:
    """The applied gain: at most ±MAX_GAIN_DB (silence-like uploads must not be pumped up further)."""
    return max(-MAX_GAIN_DB, min(MAX_GAIN_DB, gain_db))


def loudness_chain(stream: Stream, gain_db: float, true_peak_db: float) -> Stream:
    """Linear gain to the target, then a look-ahead limiter keeping peaks under the true-peak ceiling."""
    limit = 10 ** (limiter_ceiling_db(true_peak_db) / 20)
    # level=false: no auto make-up gain; latency=true: compensate look-ahead delay (keeps A/V sync).
    return stream.filter("volume", f"{clamp_gain(gain_db):.2f}dB").filter(
        "alimiter", limit=f"{limit:.4f}", attack=5, release=50, level="false", latency="true"
    )


def _normalised_audio(source: Stream, plan: Plan, gain_db: float) -> Stream:
    return loudness_chain(
        audio_prechain(source["a:0"], plan.audio_channels, plan.audio_rate), gain_db, plan.target_true_peak_db
    )


def limiter_ceiling_db(true_peak_db: float) -> float:
    """The sample-peak ceiling (dBFS) of the limiter that keeps the output under ``true_peak_db`` dBTP."""
    return true_peak_db - LIMITER_HEADROOM_DB


def _null_output(stream: Stream) -> Stream:
    return ffmpeg_lib.output(stream, "-", format="null")


def _meter_output(stream: Stream) -> Stream:
    """A null output fed by a meter's pass-through: a few frames for progress, not the whole stream."""
    return _null_output(stream.filter("aselect", f"not(mod(n,{METER_OUTPUT_EVERY}))"))


def candidate_meter(index: int) -> str:
    """The instance name of the meter after the limiter at the ``index``-th candidate gain."""
    return f"gain{index}"


def analysis_sampling(duration: float) -> str | None:
    """The aselect expression picking the windows the limiter's loss is measured on (None: everything)."""
    if duration <= SAMPLED_ANALYSIS_AFTER_S:
        return None
    period = max(5 * SAMPLED_WINDOW_S, duration / SAMPLED_WINDOWS)
    return f"lt(mod(t,{period:.0f}),{SAMPLED_WINDOW_S:g})"  # ffmpeg-python escapes the commas for the graph


def analysis_argv(plan: Plan, exe: str, probe_gains: Sequence[float] = LIMITER_PROBE_GAINS) -> list[str]:
    """Measure I, LRA and the sample peak of the programme, and the true peak and the limiter's loss curve.

    ebur128 (~10× faster than loudnorm) meters the whole programme. The loss curve is measured on sampled windows
    of the very stream the encode limits (its channels, its rate): alimiter takes more off a mono 16 kHz copy (up
    to 1.3 dB more at +24 dB on peaky speech), which left such programmes over 1 LU too loud. The unlimited
    reference meter of those windows also gives their true peak (BS.1770 Annex 2, ebur128's 4× oversampling);
    for a long programme the peak used is the larger of that and the whole programme's sample peak (see
    loudness.parse_analysis). One graph: the decode (one thread for MP3) is the critical path, and a second graph
    only added hand-offs between threads (60 min of MP3: 4.9 s, against 6.2 s in two graphs and 8.8 s with a
    4× oversampled copy of the whole programme).
    """
    source = untrusted_input(plan.source, plan.demuxer)
    programme, copy = _fan_out(audio_prechain(source["a:0"], plan.audio_channels, plan.audio_rate), 2, audio=True)
    programme = programme.filter(f"ebur128@{PROGRAMME_METER}", framelog="quiet", peak="sample")
    sampling = analysis_sampling(plan.duration)
    if sampling is not None:
        copy = copy.filter("aselect", sampling)
    reference, *candidates = _fan_out(copy, len(probe_gains) + 1, audio=True)
    meters = [reference.filter(f"ebur128@{REFERENCE_METER}", framelog="quiet", peak="true")]
    for index, (branch, gain) in enumerate(zip(candidates, probe_gains, strict=True)):
        limited = loudness_chain(branch, gain, plan.target_true_peak_db)
        meters.append(limited.filter(f"ebur128@{candidate_meter(index)}", framelog="quiet"))
    # One output for the whole curve: the meters' pass-through mixed into one stream.
    curve = ffmpeg_lib.filter(meters, "amix", inputs=len(meters)) if len(meters) > 1 else meters[0]
    # ebur128 logs its summaries at info level.
    return _compile([_meter_output(programme), _meter_output(curve)], exe, loglevel="info")


def _audio_output(stream: Stream, enc: AudioEncode, outdir: Path, *, chapters: bool) -> Stream:
    options: dict[str, str | int] = {
        "c:a": enc.encoder,
        "b:a": enc.bitrate,
        "ar": enc.sample_rate,
        "ac": enc.channels,
        # Drop the upload's global and stream tags (mutagen writes ours); "-map_metadata -1" would also blank
        # the chapter titles we map from the FFMETADATA input.
        "map_metadata:g": -1,
        "map_metadata:s": -1,
        "map_chapters": CHAPTERS_INPUT if enc.muxer == "ipod" and chapters else -1,
    }
    if enc.muxer == "mp3":
        # CBR (libmp3lame's default with -b:a) plus a Xing/Info header for exact duration; tags via mutagen.
        options |= {"write_xing": 1, "id3v2_version": 3}
    if enc.muxer == "ipod":
        options["movflags"] = "+faststart"  # moov first: playback starts before the download ends
    return ffmpeg_lib.output(stream, str(outdir / enc.filename), format=enc.muxer, **options)


def _waveform_output(stream: Stream, sample_rate: int) -> Stream:
    """Mono 16-bit PCM on stdout for the waveform builder, in 1 s frames (the last one not padded)."""
    mono = stream.filter(
        "aresample", sample_rate, filter_size=WAVEFORM_FILTER_SIZE, ochl="mono", osf="s16"
    ).filter("asetnsamples", n=sample_rate, p=0)
    return ffmpeg_lib.output(mono, "pipe:1", format="s16le", **{"c:a": "pcm_s16le"})


def _with_chapters_input(argv: list[str], chapters_file: Path | None) -> list[str]:
    # ffmpeg-python only writes inputs that feed a mapped stream or a filter; an FFMETADATA file has no
    # streams (it only lends its chapters to -map_chapters), so its input options are spliced in by hand
    # right after the source's "-i <path>", which makes it input CHAPTERS_INPUT.
    if chapters_file is None:
        return argv
    after_source = argv.index("-i") + 2
    chapters = ["-f", "ffmetadata", "-protocol_whitelist", "file", "-i", str(chapters_file.resolve())]
    return [*argv[:after_source], *chapters, *argv[after_source:]]


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
    source = untrusted_input(plan.source, plan.demuxer)
    # alimiter works in double precision: back to planar float once, before the split, rather than once per
    # output (libmp3lame and aac take planar float as it is; ~0.4 s less filter-thread CPU per 10 min).
    normalised = _normalised_audio(source, plan, gain_db).filter("aformat", sample_fmts="fltp")
    branches = _fan_out(normalised, len(plan.audio) + (1 if waveform_rate else 0), audio=True)
    outputs = [
        _audio_output(branch, enc, outdir, chapters=chapters_file is not None)
        for enc, branch in zip(plan.audio, branches, strict=False)
    ]
    if waveform_rate:
        outputs.append(_waveform_output(branches[-1], waveform_rate))
    argv = _compile(outputs, exe, progress="pipe:2" if waveform_rate else "pipe:1")
    return _with_chapters_input(argv, chapters_file)


Step = tuple[str, tuple[str | int, ...], dict[str, str | int | float]]
# Rungs below the top one resize the rung above's 8-bit 4:2:0 frames with zimg (zscale), using swscale's
# default bicubic kernel (B=0, C=0.6): the three resizes of 1080p30 took 1.6 s of CPU per 20 s instead of
# 2.3 s. Luma matched swscale's within 0.1 dB PSNR. Chroma differs by siting convention only: for frames that
# state no chroma location zimg assumes H.264's default (left), swscale the centre; each scores ~8 dB lower
# on chroma against a reference made in the other's convention.
CASCADE_SCALER: dict[str, str | int | float] = {"filter": "bicubic", "param_a": 0, "param_b": 0.6}


def _rung_steps(rung: VideoRung, *, resample: bool = True, cascaded: bool = False) -> tuple[Step, ...]:
    """Constant frame rate (VFR sources too), the rung's size, square pixels, 8-bit 4:2:0.

    ``resample=False`` leaves out the fps filter: in the cascade a rung whose rate equals the rung above's
    already receives constant-rate frames (the fps filter still queues and re-stamps every frame).
    ``cascaded=True``: the input is the rung above (yuv420p), resized with zscale; the top rung (any
    source pixel format, range or depth) goes through swscale.
    """
    rate: tuple[Step, ...] = ((("fps", (f"{rung.fps.numerator}/{rung.fps.denominator}",), {}),) if resample else ())
    size: Step = (
        ("zscale", (rung.width, rung.height), CASCADE_SCALER) if cascaded else ("scale", (rung.width, rung.height), {})
    )
    return (*rate, size, ("setsar", (1,), {}), ("format", ("yuv420p",), {}))


def rung_filter(rung: VideoRung) -> str:
    """The rung's filters as a plain ``-vf`` chain (for the benchmark's one-process-per-rung baseline)."""
    return ",".join(f"{name}={':'.join(str(a) for a in args)}" for name, args, _ in _rung_steps(rung))


def _scaled(stream: Stream, rung: VideoRung, *, resample: bool, cascaded: bool) -> Stream:
    for name, args, options in _rung_steps(rung, resample=resample, cascaded=cascaded):
        stream = stream.filter(name, *args, **options)
    return stream


def _tone_mapped(stream: Stream) -> Stream:
    for name, options in TONEMAP_CHAIN:
        stream = stream.filter(name, **options)
    return stream


def _video_graph(plan: Plan, source: Stream) -> tuple[list[Stream], dict[str, Stream]]:
    """Decode once; cascade scale rung to rung (each scales the previous, cheaper than from source).

    Returns the rung streams and the image streams ("poster", "thumbnail", "storyboard") when planned.
    """
    previous = source["v:0"]
    if plan.tone_map:
        previous = _tone_mapped(previous)
    rungs: list[Stream] = []
    poster_src: Stream = None
    sprite_src: Stream = None
    images = plan.images
    for i, rung in enumerate(plan.rungs):
        last = i == len(plan.rungs) - 1
        wants = ["rung", *([] if last else ["next"])]
        if images is not None:
            wants += (["poster"] if i == 0 else []) + (["sprite"] if last else [])
        resample = i == 0 or rung.fps != plan.rungs[i - 1].fps
        scaled = _scaled(previous, rung, resample=resample, cascaded=i > 0)
        branches = _fan_out(scaled, len(wants), audio=False)
        branch = dict(zip(wants, branches, strict=True))
        rungs.append(branch["rung"])
        previous = branch.get("next")
        poster_src = branch.get("poster", poster_src)
        sprite_src = branch.get("sprite", sprite_src)
    if images is None:
        return rungs, {}
    im = images
    # eof_action=pass: a clip shorter than one sample interval still gets a frame.
    picked = poster_src.filter("fps", im.poster_sample_fps, eof_action="pass").filter(
        "thumbnail", n=im.poster_candidates
    )
    big, small = _fan_out(picked, 2, audio=False)
    sprite = sprite_src.filter("fps", f"1/{im.tile_interval_s}", eof_action="pass")
    return rungs, {
        "poster": big.filter("scale", im.poster_width, im.poster_height),
        "thumbnail": small.filter("scale", im.thumb_width, im.thumb_height),
        "storyboard": sprite.filter("scale", im.tile_width, im.tile_height).filter("tile", f"{im.columns}x{im.rows}"),
    }


def x264_options(plan: Plan, rung: VideoRung) -> dict[str, str]:
    """Encoder options of one rung (as for a single-rung output; the ladder adds a stream specifier)."""
    gop = str(rung.gop)
    return {
        "c:v": "libx264", "preset": plan.preset, "profile:v": "high", "level:v": rung.level,
        "pix_fmt": "yuv420p",
        # CRF for quality with a VBV cap so peaks stay bounded (HLS BANDWIDTH vs AVERAGE-BANDWIDTH).
        "crf": str(rung.crf), "maxrate": str(rung.maxrate), "bufsize": str(rung.bufsize),
        # Apple HLS authoring spec 1.13: IDR every 2 s, no scene-cut keyframes, so 6 s segments align
        # across rungs and start on an IDR.
        "g": gop, "keyint_min": gop, "sc_threshold": "0",
        "force_key_frames": f"expr:gte(t,n_forced*{plan.keyframe_interval_s})",
    }  # fmt: skip


def x264_args(plan: Plan, rung: VideoRung) -> list[str]:
    """The same options as argv (shared with the benchmark's one-process-per-rung baseline)."""
    return [arg for key, value in x264_options(plan, rung).items() for arg in (f"-{key}", value)]


def _ladder_slaves(plan: Plan, outdir: Path, hls_dir: str) -> list[tuple[dict[str, str | int], Path]]:
    """Each rung's MP4 and HLS variant pick their picture (v:i) and sound (a:track); the M4A its track."""
    _, rung_tracks, m4a_track = aac_tracks(plan)
    selects = [f"v:{i},a:{rung_tracks[i]}" if rung_tracks else f"v:{i}" for i in range(len(plan.rungs))]
    slaves: list[tuple[dict[str, str | int], Path]] = [
        ({"f": "mp4", "select": select, "movflags": "+faststart"}, outdir / rung.filename)
        for rung, select in zip(plan.rungs, selects, strict=True)
    ]
    for rung, select in zip(plan.rungs, selects, strict=True):
        variant = outdir / hls_dir / rung.name
        hls: dict[str, str | int] = {
            "f": "hls", "select": select, "hls_time": plan.hls_segment_s, "hls_playlist_type": "vod",
            "hls_segment_type": "fmp4", "hls_flags": "independent_segments", "hls_fmp4_init_filename": "init.mp4",
            "hls_segment_filename": str(variant / "seg_%03d.m4s"),
        }  # fmt: skip
        slaves.append((hls, variant / "index.m3u8"))
    m4a = next((enc for enc in plan.audio if enc.muxer == "ipod"), None)
    if m4a is not None and m4a_track is not None:
        slaves.append(({"f": m4a.muxer, "select": f"a:{m4a_track}", "movflags": "+faststart"}, outdir / m4a.filename))
    return slaves


def _ladder_output(plan: Plan, videos: list[Stream], sounds: list[Stream], outdir: Path, hls_dir: str) -> Stream:
    """One tee output: every rung's H.264 and each distinct AAC encoded once, muxed into the rung MP4s,
    the fMP4 HLS variants and the M4A from the same packets (no remux pass, no repeated AAC encode)."""
    options: dict[str, str | int] = {}
    for i, rung in enumerate(plan.rungs):
        # Per-stream options: "crf" → "crf:v:2" applies to the third video stream of this output only.
        options |= {f"{key.split(':')[0]}:v:{i}": value for key, value in x264_options(plan, rung).items()}
        options[f"threads:v:{i}"] = rung.threads
    tracks, _, _ = aac_tracks(plan)
    for j, (bitrate, rate, channels) in enumerate(tracks):
        options |= {f"c:a:{j}": "aac", f"b:a:{j}": bitrate, f"ar:a:{j}": rate, f"ac:a:{j}": channels}
    # No upload tags or chapters in any slave (mutagen writes the M4A's own tags afterwards).
    options |= {"map_metadata": -1, "map_chapters": -1}
    target = tee_target(_ladder_slaves(plan, outdir, hls_dir))
    return ffmpeg_lib.output(*videos, *sounds, target, format="tee", **options)


def hls_variant_dirs(plan: Plan, outdir: Path, hls_dir: str = "hls") -> list[Path]:
    """The folders the HLS slaves write into (the hls muxer does not create them)."""
    return [outdir / hls_dir / rung.name for rung in plan.rungs]


def _image_output(stream: Stream, path: Path) -> Stream:
    # One JPEG: -update 1 writes a single file instead of a numbered image sequence.
    options = {"frames:v": 1, "c:v": "mjpeg", "q:v": 3, "pix_fmt": "yuvj420p", "update": 1}
    return ffmpeg_lib.output(stream, str(path), format="image2", **options)


def video_encode_argv(
    plan: Plan,
    *,
    gain_db: float | None,
    exe: str,
    outdir: Path,
    waveform_rate: int | None = 8000,
    hls_dir: str = "hls",
) -> list[str]:
    """One process, one decode: the ladder as MP4s + HLS, poster, thumbnail, storyboard, M4A/MP3, waveform.

    Create ``hls_variant_dirs(plan, outdir, hls_dir)`` before running it.
    """
    source = untrusted_input(plan.source, plan.demuxer)
    videos, images = _video_graph(plan, source)
    tracks, _, _ = aac_tracks(plan)
    others = [enc for enc in plan.audio if enc.muxer != "ipod"]  # the MP3: its own encoder
    wave = bool(plan.has_audio and waveform_rate)
    sounds: list[Stream] = []
    if plan.has_audio:
        count = len(tracks) + len(others) + wave
        sounds = _fan_out(_normalised_audio(source, plan, gain_db or 0.0), count, audio=True)
    outputs = [_ladder_output(plan, videos, sounds[: len(tracks)], outdir, hls_dir)]
    for name, stream in images.items():
        outputs.append(_image_output(stream, outdir / f"{name}.jpg"))
    for enc, branch in zip(others, sounds[len(tracks) :], strict=False):
        outputs.append(_audio_output(branch, enc, outdir, chapters=False))
    if wave and waveform_rate:
        outputs.append(_waveform_output(sounds[-1], waveform_rate))
    return _compile(outputs, exe, progress="pipe:2" if wave else "pipe:1")


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
