"""Pure argv builders for the audio runs (analysis, encode) and what every run shares; nothing here starts a
process. The video encode's builders are in episodes.media.video_argv.

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

from .plan import AudioEncode, Plan
from .tags import ChapterMark, chapter_spans

Stream = Any  # an ffmpeg-python stream (input selector or filter output pad) or output node

# Peak ceiling for the sample-peak limiter, below the true-peak target: inter-sample peaks and lossy
# encoding add up to ~1.5 dB on noisy material (measured with ebur128 on MP3/AAC/Opus outputs).
LIMITER_HEADROOM_DB = 2.5
# The limiter sees the band the encoders keep: a gentle lowpass (12 dB/octave, -3 dB here) before it. Without it
# the encoders' own steeper cut rang on what the limiter had already flattened: 0.2 ms clicks raised +25 dB came
# out of AAC at -0.9 dBTP from a -3.5 dBFS ceiling; with it, at -2.0 (MP3 -3.6, Opus -2.9).
LIMITER_LOWPASS_HZ = 16000
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
# The FFMETADATA chapters file is the second input of the audio encode (see _with_chapters_input).
CHAPTERS_INPUT = 1


def compile_run(
    outputs: Sequence[Stream],
    exe: str,
    loglevel: str = "error",
    progress: str = "pipe:1",
    *,
    single_threaded_filters: bool = False,
) -> list[str]:
    # -nostdin: never read the terminal; -y: outputs live in our own workdir; -progress with -nostats gives
    # machine-readable key=value progress for the runner: on stdout, or on stderr (pipe:2) when stdout
    # carries PCM for the waveform.
    args = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", loglevel, "-progress", progress]
    if single_threaded_filters:
        # Audio filters gain nothing from slice threads and pay for handing every frame out to them: the
        # analysis of 60 min of MP3 took 4.4 s instead of 5.7 s (7.0 s of CPU instead of 8.0), the encode ~3 %
        # less CPU. (The video graph keeps them: its scalers are the heavy filters.)
        args += ["-filter_complex_threads", "1"]
    run = ffmpeg_lib.merge_outputs(*outputs).global_args(*args)
    return [str(arg) for arg in run.overwrite_output().compile(cmd=exe)]


def untrusted_input(path: Path, demuxer: str, *, threads: int = 0) -> Stream:
    """Input node for an upload: no protocol but plain files, and the demuxer the probe approved.

    ``threads``: its decoders' thread count (0: ffmpeg's choice, no option written).
    """
    options: dict[str, str | int] = {"threads": threads} if threads else {}
    return ffmpeg_lib.input(str(Path(path).resolve()), format=demuxer, protocol_whitelist="file", **options)


def fan_out(stream: Stream, count: int, *, audio: bool) -> list[Stream]:
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
    """Linear gain to the target, the encoders' band, then a look-ahead limiter keeping peaks under the true-peak
    ceiling."""
    limit = 10 ** (limiter_ceiling_db(true_peak_db) / 20)
    # level=false: no auto make-up gain; latency=true: compensate look-ahead delay (keeps A/V sync).
    return (
        stream.filter("volume", f"{clamp_gain(gain_db):.2f}dB")
        .filter("lowpass", f=LIMITER_LOWPASS_HZ, poles=2)
        .filter("alimiter", limit=f"{limit:.4f}", attack=5, release=50, level="false", latency="true")
    )


def normalised_audio(source: Stream, plan: Plan, gain_db: float) -> Stream:
    return loudness_chain(
        audio_prechain(source["a:0"], plan.audio_channels, plan.audio_rate), gain_db, plan.target_true_peak_db
    )


def limiter_ceiling_db(true_peak_db: float) -> float:
    """The sample-peak ceiling (dBFS) of the limiter that keeps the output under ``true_peak_db`` dBTP."""
    return true_peak_db - LIMITER_HEADROOM_DB


def _meter_output(stream: Stream) -> Stream:
    """A null output fed by a meter's pass-through: a few frames for progress, not the whole stream."""
    return ffmpeg_lib.output(stream.filter("aselect", f"not(mod(n,{METER_OUTPUT_EVERY}))"), "-", format="null")


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
    programme, copy = fan_out(audio_prechain(source["a:0"], plan.audio_channels, plan.audio_rate), 2, audio=True)
    programme = programme.filter(f"ebur128@{PROGRAMME_METER}", framelog="quiet", peak="sample")
    sampling = analysis_sampling(plan.duration)
    if sampling is not None:
        copy = copy.filter("aselect", sampling)
    reference, *candidates = fan_out(copy, len(probe_gains) + 1, audio=True)
    meters = [reference.filter(f"ebur128@{REFERENCE_METER}", framelog="quiet", peak="true")]
    for index, (branch, gain) in enumerate(zip(candidates, probe_gains, strict=True)):
        limited = loudness_chain(branch, gain, plan.target_true_peak_db)
        meters.append(limited.filter(f"ebur128@{candidate_meter(index)}", framelog="quiet"))
    # One output for the whole curve: the meters' pass-through mixed into one stream.
    curve = ffmpeg_lib.filter(meters, "amix", inputs=len(meters)) if len(meters) > 1 else meters[0]
    # ebur128 logs its summaries at info level.
    return compile_run(
        [_meter_output(programme), _meter_output(curve)], exe, loglevel="info", single_threaded_filters=True
    )


def audio_output(stream: Stream, enc: AudioEncode, outdir: Path, *, chapters: bool) -> Stream:
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


def waveform_output(stream: Stream, sample_rate: int) -> Stream:
    """Mono 16-bit PCM on stdout for the waveform builder, in 1 s frames (the last one not padded)."""
    mono = stream.filter("aresample", sample_rate, filter_size=WAVEFORM_FILTER_SIZE, ochl="mono", osf="s16").filter(
        "asetnsamples", n=sample_rate, p=0
    )
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
    normalised = normalised_audio(source, plan, gain_db).filter("aformat", sample_fmts="fltp")
    branches = fan_out(normalised, len(plan.audio) + (1 if waveform_rate else 0), audio=True)
    outputs = [
        audio_output(branch, enc, outdir, chapters=chapters_file is not None)
        for enc, branch in zip(plan.audio, branches, strict=False)
    ]
    if waveform_rate:
        outputs.append(waveform_output(branches[-1], waveform_rate))
    argv = compile_run(outputs, exe, progress="pipe:2" if waveform_rate else "pipe:1", single_threaded_filters=True)
    return _with_chapters_input(argv, chapters_file)


def chapters_ffmetadata(chapters: Iterable[ChapterMark], duration: float) -> str:
    """Render chapters as an FFMETADATA1 file (for MP4 chapter atoms), escaping =;#\\ and newlines."""

    def esc(text: str) -> str:
        for ch in "\\=;#\n":
            text = text.replace(ch, "\\" + ch)
        return text

    lines = [";FFMETADATA1"]
    for start, end, title in chapter_spans(tuple(chapters), duration):
        start_ms = math.floor(start * 1000)
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start_ms}"]
        lines += [f"END={max(math.floor(end * 1000), start_ms + 1)}", f"title={esc(title)}"]
    return "\n".join(lines) + "\n"


def m4a_remux_argv(source: Path, target: Path, *, exe: str, chapters_file: Path | None) -> list[str]:
    """Copy an M4A's audio as it is (no re-encoding) into a new file with these chapters (or none), moov first.

    The source is a file we wrote, read as MP4 with no protocol but plain files all the same.
    """
    argv = [exe, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-y"]
    argv += ["-f", "mp4", "-protocol_whitelist", "file", "-i", str(source.resolve())]
    if chapters_file is not None:
        argv += ["-f", "ffmetadata", "-protocol_whitelist", "file", "-i", str(chapters_file.resolve())]
    argv += ["-map", "0:a", "-c", "copy", "-map_metadata:g", "-1", "-map_metadata:s", "-1"]
    argv += ["-map_chapters", str(CHAPTERS_INPUT) if chapters_file is not None else "-1"]
    return [*argv, "-movflags", "+faststart", "-f", "ipod", str(target.resolve())]
