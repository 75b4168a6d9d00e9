"""Pure argv builders for the video encode: one decode, the H.264 ladder as MP4s + HLS (one tee output), poster,
thumbnail, storyboard, and the sound as M4A/MP3 + waveform PCM. Nothing here starts a process.

Usage::

    from episodes.media import video_argv

    for folder in video_argv.hls_variant_dirs(the_plan, outdir):
        folder.mkdir(parents=True)
    argv = video_argv.video_encode_argv(the_plan, gain_db=-2.0, exe="ffmpeg", outdir=outdir)

Shares the input, audio and output helpers of episodes.media.ffmpeg (see its docstring for the conventions).
"""

from __future__ import annotations

from pathlib import Path

import ffmpeg as ffmpeg_lib

from .ffmpeg import (
    Stream,
    audio_output,
    compile_run,
    fan_out,
    normalised_audio,
    untrusted_input,
    waveform_output,
)
from .plan import Plan, VideoRung, aac_tracks
from .tee import tee_target

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


# A poster candidate's mean luma (8-bit, limited range: black is 16) must exceed this: black and fade frames
# are never the poster while the video has any other frame.
POSTER_MIN_LUMA = 32
Step = tuple[str, tuple[str | int, ...], dict[str, str | int | float]]
Slave = tuple[dict[str, str | int], Path]  # a tee slave: its options, its file
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
    rate: tuple[Step, ...] = (("fps", (f"{rung.fps.numerator}/{rung.fps.denominator}",), {}),) if resample else ()
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
        branches = fan_out(scaled, len(wants), audio=False)
        branch = dict(zip(wants, branches, strict=True))
        rungs.append(branch["rung"])
        previous = branch.get("next")
        poster_src = branch.get("poster", poster_src)
        sprite_src = branch.get("sprite", sprite_src)
    if images is None:
        return rungs, {}
    im = images
    big, small = fan_out(_poster_frame(poster_src, im.poster_sample_fps, im.poster_candidates), 2, audio=False)
    sprite = sprite_src.filter("fps", f"1/{im.tile_interval_s}", eof_action="pass")
    return rungs, {
        "poster": big.filter("scale", im.poster_width, im.poster_height),
        "thumbnail": small.filter("scale", im.thumb_width, im.thumb_height),
        "storyboard": sprite.filter("scale", im.tile_width, im.tile_height).filter("tile", f"{im.columns}x{im.rows}"),
    }


def _poster_frame(stream: Stream, sample_fps: str, candidates: int) -> Stream:
    """The most representative of the sampled frames that are not black (thumbnail filter); the first sampled
    frame when every one is black, so an all-black video still gets a poster and the run does not fail."""
    # eof_action=pass: a clip shorter than one sample interval still gets a frame.
    sampled, first = fan_out(stream.filter("fps", sample_fps, eof_action="pass"), 2, audio=False)
    lit = sampled.filter("signalstats").filter(
        "metadata", mode="select", key="lavfi.signalstats.YAVG", value=POSTER_MIN_LUMA, function="greater"
    )
    # concat hands on the fallback only after the last lit frame: a batch short of lit frames ends with it.
    fallback = first.filter("trim", end_frame=1)
    return ffmpeg_lib.concat(lit, fallback, v=1, a=0).filter("thumbnail", n=candidates)


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


def _rung_slaves(plan: Plan, rung: VideoRung, select: str, outdir: Path, hls_dir: str) -> list[Slave]:
    """A rung's progressive MP4 and its fMP4 HLS variant, muxed from the streams ``select`` picks."""
    variant = outdir / hls_dir / rung.name
    hls: dict[str, str | int] = {
        "f": "hls", "select": select, "hls_time": plan.hls_segment_s, "hls_playlist_type": "vod",
        "hls_segment_type": "fmp4", "hls_flags": "independent_segments", "hls_fmp4_init_filename": "init.mp4",
        "hls_segment_filename": str(variant / "seg_%03d.m4s"),
    }  # fmt: skip
    return [
        ({"f": "mp4", "select": select, "movflags": "+faststart"}, outdir / rung.filename),
        (hls, variant / "index.m3u8"),
    ]


def _ladder_slaves(plan: Plan, outdir: Path, hls_dir: str) -> list[Slave]:
    """Each rung's MP4 and HLS variant pick their picture (v:i) and sound (a:track); the M4A its track."""
    _, rung_tracks, m4a_track = aac_tracks(plan)
    selects = [f"v:{i},a:{rung_tracks[i]}" if rung_tracks else f"v:{i}" for i in range(len(plan.rungs))]
    pairs = [
        _rung_slaves(plan, rung, select, outdir, hls_dir) for rung, select in zip(plan.rungs, selects, strict=True)
    ]
    # All the MP4s first, then all the variants.
    slaves = [mp4 for mp4, _ in pairs] + [variant for _, variant in pairs]
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


def constant_rate_options(plan: Plan, rung: VideoRung, video_bitrate: int) -> dict[str, str]:
    """The rung's x264 options in constant bit rate mode instead of capped CRF: every 2 s VBV window carries
    ``video_bitrate``, padded with filler data (nal-hrd=cbr) where the picture needs less. A 6 s segment then
    carries 6 s of that rate ± the 2 s buffer: its peak is at most 4/3 of the average, whatever the content
    (Apple HLS authoring spec 1.30 asks for ≤ 2×)."""
    options = {key: value for key, value in x264_options(plan, rung).items() if key != "crf"}
    rate = str(video_bitrate)
    buffer = str(video_bitrate * 2)
    return options | {"b:v": rate, "minrate": rate, "maxrate": rate, "bufsize": buffer, "nal-hrd": "cbr"}


def rung_constant_rate_argv(
    plan: Plan, rung: VideoRung, *, video_bitrate: int, sound: Path | None, exe: str, outdir: Path, hls_dir: str = "hls"
) -> list[str]:
    """Encode one rung again at a constant bit rate into ``outdir`` (its MP4 and HLS variant, same names).

    The picture is decoded from the upload and scaled straight to the rung (swscale, as the top rung is); the
    sound is copied from ``sound``, the rung's first MP4, so it stays the normalised AAC of the first encode.
    Create ``outdir / hls_dir / rung.name`` first.
    """
    source = untrusted_input(plan.source, plan.demuxer)
    picture = _tone_mapped(source["v:0"]) if plan.tone_map else source["v:0"]
    streams = [_scaled(picture, rung, resample=True, cascaded=False)]
    if sound is not None:
        streams.append(untrusted_input(sound, "mov")["a:0"])
    select = "v:0,a:0" if sound is not None else "v:0"
    options: dict[str, str | int] = dict(constant_rate_options(plan, rung, video_bitrate))
    options |= {"c:a": "copy", "map_metadata": -1, "map_chapters": -1}
    target = tee_target(_rung_slaves(plan, rung, select, outdir, hls_dir))
    return compile_run([ffmpeg_lib.output(*streams, target, format="tee", **options)], exe)


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
    source = untrusted_input(plan.source, plan.demuxer, threads=plan.decode_threads)
    videos, images = _video_graph(plan, source)
    tracks, _, _ = aac_tracks(plan)
    others = [enc for enc in plan.audio if enc.muxer != "ipod"]  # the MP3: its own encoder
    wave = bool(plan.has_audio and waveform_rate)
    sounds: list[Stream] = []
    if plan.has_audio:
        count = len(tracks) + len(others) + wave
        sounds = fan_out(normalised_audio(source, plan, gain_db or 0.0), count, audio=True)
    outputs = [_ladder_output(plan, videos, sounds[: len(tracks)], outdir, hls_dir)]
    for name, stream in images.items():
        outputs.append(_image_output(stream, outdir / f"{name}.jpg"))
    for enc, branch in zip(others, sounds[len(tracks) :], strict=False):
        outputs.append(audio_output(branch, enc, outdir, chapters=False))
    if wave and waveform_rate:
        outputs.append(waveform_output(sounds[-1], waveform_rate))
    return compile_run(outputs, exe, progress="pipe:2" if wave else "pipe:1")
