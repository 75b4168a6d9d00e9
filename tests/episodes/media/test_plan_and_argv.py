"""Planner and argv builders: pure functions, no ffmpeg runs."""

from __future__ import annotations

import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest

from episodes.media import ffmpeg, video_argv
from episodes.media.config import MediaConfig
from episodes.media.errors import MediaRejected
from episodes.media.hls import Segment, Variant, master_playlist
from episodes.media.loudness import Loudness, parse_analysis, parse_ebur128, solve_gain
from episodes.media.plan import aac_tracks, h264_level, plan
from episodes.media.probe import ProbeResult, StreamInfo
from episodes.media.tags import ChapterMark
from episodes.media.tee import tee_target
from episodes.media.waveform import WaveformBuilder

CONFIG = MediaConfig()


def video_probe(
    width: int,
    height: int,
    fps: float = 30.0,
    *,
    audio_channels: int | None = 2,
    vfr: bool = False,
    transfer: str | None = None,
    duration: float = 60.0,
) -> ProbeResult:
    streams = [
        StreamInfo(
            index=0,
            kind="video",
            codec="h264",
            width=width,
            height=height,
            frame_rate=fps,
            vfr=vfr,
            color_transfer=transfer,
        )
    ]
    if audio_channels:
        streams.append(StreamInfo(index=1, kind="audio", codec="aac", channels=audio_channels, sample_rate=48000))
    return ProbeResult(
        path=Path("/up/in.mp4"),
        kind="video",
        size_bytes=1,
        format_name="mov,mp4,m4a,3gp,3g2,mj2",
        duration=duration,
        streams=tuple(streams),
    )


def audio_probe(channels: int) -> ProbeResult:
    stream = StreamInfo(index=0, kind="audio", codec="mp3", channels=channels, sample_rate=44100)
    return ProbeResult(
        path=Path("/up/in.mp3"),
        kind="audio",
        size_bytes=1,
        format_name="mp3",
        duration=30.0,
        streams=(stream,),
    )


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def input_options(argv: list[str]) -> list[tuple[str, dict[str, str]]]:
    """[(path, {option: value})] per ``-i``: the options between the previous input (or the command) and it."""
    inputs, start = [], 1
    for i, arg in enumerate(argv):
        if arg == "-i":
            opts = argv[start:i]
            inputs.append((argv[i + 1], dict(zip(opts[::2], opts[1::2], strict=True))))
            start = i + 2
    return inputs


def outputs(argv: list[str]) -> list[tuple[str, list[str]]]:
    """[(filename, its options)] for the outputs, in argv order (every output option takes a value)."""
    i = max(i for i, a in enumerate(argv) if a == "-i") + 2
    while argv[i] == "-filter_complex":
        i += 2
    result, current = [], []
    while argv[i] != "-hide_banner":  # ffmpeg-python writes the global options after the outputs
        if argv[i].startswith("-") and argv[i] != "-":
            current += argv[i : i + 2]
            i += 2
        else:
            result.append((argv[i], current))
            current = []
            i += 1
    return result


def output(argv: list[str], filename: str) -> list[str]:
    return dict(outputs(argv))[filename]


def graphs(argv: list[str]) -> list[str]:
    """Every -filter_complex (ffmpeg runs each filter graph in its own thread)."""
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == "-filter_complex"]


def graph(argv: list[str]) -> list[tuple[list[str], str, list[str]]]:
    """The -filter_complex graphs as [(input pads, filter, output pads)], one entry per chain (ffmpeg-python
    writes one filter a chain and labels its pads [s0], [s1], …; the names are its business, the wiring is
    ours)."""
    nodes = []
    for chain in ";".join(graphs(argv)).split(";"):
        match = re.fullmatch(r"((?:\[[^\]]+\])*)(.*?)((?:\[[^\]]+\])*)", chain)
        assert match, chain
        pads_in, pads_out = (re.findall(r"\[([^\]]+)\]", match.group(n)) for n in (1, 3))
        nodes.append((pads_in, match.group(2), pads_out))
    return nodes


def lineage(nodes: list[tuple[list[str], str, list[str]]], start: str | int) -> list[str]:
    """The filters from the input stream down to node ``start`` (an index, or the first node with that
    filter), following first input pads."""
    index = start if isinstance(start, int) else next(i for i, (_, f, _) in enumerate(nodes) if f == start)
    producer = {pad: i for i, (_, _, outs) in enumerate(nodes) for pad in outs}
    path: list[str] = []
    while True:
        pads_in, f, _ = nodes[index]
        path.append(f)
        if pads_in[0] not in producer:
            return [pads_in[0], *reversed(path)]
        index = producer[pads_in[0]]


def mapped(argv: list[str], nodes: list[tuple[list[str], str, list[str]]], filename: str) -> list[int]:
    """The graph nodes whose output pads the output ``filename`` maps, in -map order."""
    opts = output(argv, filename)
    pads = [opts[i + 1].strip("[]") for i in range(0, len(opts), 2) if opts[i] == "-map"]
    return [next(i for i, (_, _, outs) in enumerate(nodes) if pad in outs) for pad in pads]


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1920, 1080), [("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]),
        ((1280, 720), [("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]),
        ((1080, 1920), [("1080p", 1080, 1920), ("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)]),
        ((1000, 600), [("480p", 800, 480), ("360p", 600, 360)]),
        # Within 10 % under a rung: that rung at the source's own (even) size, never upscaled.
        ((1000, 700), [("720p", 1000, 700), ("480p", 686, 480), ("360p", 514, 360)]),
        ((1279, 719), [("720p", 1278, 718), ("480p", 854, 480), ("360p", 640, 360)]),
        ((719, 1279), [("720p", 718, 1278), ("480p", 480, 854), ("360p", 360, 640)]),
        ((1900, 1000), [("1080p", 1900, 1000), ("720p", 1368, 720), ("480p", 912, 480), ("360p", 684, 360)]),
        ((1200, 647), [("480p", 890, 480), ("360p", 668, 360)]),
        ((600, 340), [("360p", 600, 340)]),
        ((320, 240), [("240p", 320, 240)]),
        ((175, 99), [("98p", 174, 98)]),
    ],
)
def test_ladder_keeps_rungs_at_or_below_the_source_short_side(size: tuple[int, int], expected: list) -> None:
    p = plan(video_probe(*size), CONFIG)
    assert [(r.name, r.width, r.height) for r in p.rungs] == expected
    assert all(r.width % 2 == 0 and r.height % 2 == 0 for r in p.rungs)


def test_frame_rate_capped_at_60_and_30_below_720p() -> None:
    p = plan(video_probe(1920, 1080, fps=120), CONFIG)
    assert [r.fps for r in p.rungs] == [60, 60, 30, 30]
    assert [r.gop for r in p.rungs] == [120, 120, 60, 60]
    p = plan(video_probe(1920, 1080, fps=30000 / 1001), CONFIG)
    assert p.rungs[0].fps == Fraction(30000, 1001)
    assert plan(video_probe(1280, 720, fps=50), CONFIG).rungs[-1].fps == 25


def test_vfr_source_gets_a_constant_common_rate() -> None:
    p = plan(video_probe(640, 360, fps=27.6, vfr=True), CONFIG)
    assert p.rungs[0].fps == 30


def test_levels_and_vbv_caps() -> None:
    assert h264_level(1920, 1080, 30) == "4.0"
    assert h264_level(1920, 1080, 60) == "4.2"
    assert h264_level(1280, 720, 30) == "3.1"
    assert h264_level(640, 360, 30) == "3.0"
    for rung in plan(video_probe(1920, 1080), CONFIG).rungs:
        assert rung.bufsize == 2 * rung.maxrate


def test_hdr_is_tone_mapped_and_video_without_audio_has_no_audio_outputs() -> None:
    p = plan(video_probe(1280, 720, transfer="smpte2084", audio_channels=None), CONFIG)
    assert p.tone_map and not p.has_audio and p.audio == ()
    argv = video_argv.video_encode_argv(p, gain_db=None, exe="ffmpeg", outdir=Path("/w"))
    nodes = graph(argv)
    # Tone-mapped once, before the first rung's scale (the cascade carries it down the ladder).
    assert lineage(nodes, "scale=1280:720")[:7] == [
        "0:v:0",
        "zscale=npl=100:t=linear",
        "format=pix_fmts=gbrpf32le",
        "zscale=p=bt709",
        "tonemap=desat=0:tonemap=hable",
        "zscale=m=bt709:r=tv:t=bt709",
        "format=pix_fmts=yuv420p",
    ]
    assert "[0:a:0]" not in flag(argv, "-filter_complex")
    assert "-c:a" not in argv and "s16le" not in argv and flag(argv, "-progress") == "pipe:1"


def test_audio_plan_outputs_follow_source_channels() -> None:
    mono, stereo = plan(audio_probe(1), CONFIG), plan(audio_probe(6), CONFIG)
    assert [a.kind for a in mono.audio] == ["audio_mp3", "audio_aac", "audio_opus"]
    assert {a.channels for a in mono.audio} == {1} and {a.channels for a in stereo.audio} == {2}
    mp3 = stereo.audio[0]
    assert (mp3.encoder, mp3.bitrate, mp3.sample_rate) == ("libmp3lame", 128_000, 44100)
    assert stereo.audio[2].sample_rate == 48000
    # A 44.1 kHz source is processed at 44.1 kHz: only Opus resamples (to its 48 kHz).
    assert stereo.audio_rate == 44100 and stereo.audio[1].sample_rate == 44100
    assert plan(video_probe(640, 360), CONFIG).audio_rate == 48000


def test_rejected_probe_cannot_be_planned() -> None:
    rejected = ProbeResult(path=Path("/x"), kind="rejected", size_bytes=0, reason="The file is empty.")
    with pytest.raises(MediaRejected, match="The file is empty."):
        plan(rejected, CONFIG)


def test_every_argv_is_a_list_with_whitelist_forced_demuxer_and_safe_flags() -> None:
    vp, ap = plan(video_probe(1280, 720), CONFIG), plan(audio_probe(2), CONFIG)
    out = Path("/w")
    runs = [
        ffmpeg.analysis_argv(ap, "ffmpeg"),
        ffmpeg.audio_encode_argv(ap, gain_db=3.0, exe="ffmpeg", outdir=out),
        video_argv.video_encode_argv(vp, gain_db=-2.0, exe="ffmpeg", outdir=out),
        ffmpeg.audio_encode_argv(ap, gain_db=0, exe="ffmpeg", outdir=out, chapters_file=out / "c.ffmeta"),
    ]
    for argv in runs:
        assert argv[0] == "ffmpeg" and all(isinstance(a, str) for a in argv)
        assert {"-nostdin", "-hide_banner", "-nostats", "-y"} <= set(argv)
        assert flag(argv, "-progress") == ("pipe:2" if "s16le" in argv else "pipe:1")
        # Every input is pinned to a demuxer and to plain files, with the options before its own -i.
        for _path, options in input_options(argv):
            assert options["-protocol_whitelist"] == "file" and options["-f"]
        # Global options follow the last output, so no output carries them as its own options.
        assert all("-nostdin" not in options for _, options in outputs(argv))
    demuxers = [[options["-f"] for _, options in input_options(argv)] for argv in runs]
    assert demuxers == [["mp3"], ["mp3"], ["mov"], ["mp3", "ffmetadata"]]
    assert input_options(runs[0])[0][0] == "/up/in.mp3"  # the resolved upload path


def test_audio_encode_argv_one_process_all_outputs_normalised() -> None:
    p = plan(audio_probe(2), CONFIG)
    argv = ffmpeg.audio_encode_argv(p, gain_db=4.25, exe="ffmpeg", outdir=Path("/w"))
    nodes = graph(argv)
    assert argv.count("-i") == 1 and flag(argv, "-filter_complex").count("[0:a:0]") == 1
    # Normalised once, then split: every output gets the same gain and limiter.
    normalise = [
        "0:a:0",
        "aformat=channel_layouts=stereo:sample_fmts=fltp:sample_rates=44100",
        "volume=4.25dB",
        "lowpass=f=16000:poles=2",
        "alimiter=attack=5:latency=true:level=false:limit=0.6683:release=50",
        "aformat=sample_fmts=fltp",  # the limiter's double precision converted once, not once per output
        "asplit=4",
    ]
    assert lineage(nodes, "asplit=4") == normalise
    files = [name for name, _ in outputs(argv)]
    assert files == ["/w/audio.mp3", "/w/audio.m4a", "/w/audio.opus", "pipe:1"]
    assert [flag(output(argv, f), "-c:a") for f in files] == ["libmp3lame", "aac", "libopus", "pcm_s16le"]
    assert all([nodes[i][1] for i in mapped(argv, nodes, f)] == ["asplit=4"] for f in files[:3])
    (wave,) = mapped(argv, nodes, "pipe:1")
    assert lineage(nodes, wave) == [
        *normalise,
        "aresample=8000:filter_size=8:ochl=mono:osf=s16",
        "asetnsamples=n=8000:p=0",  # 1 s frames, the last one not padded with silence
    ]
    assert flag(output(argv, "pipe:1"), "-f") == "s16le"
    mp3, m4a = output(argv, "/w/audio.mp3"), output(argv, "/w/audio.m4a")
    assert (flag(mp3, "-f"), flag(mp3, "-write_xing"), flag(mp3, "-b:a")) == ("mp3", "1", "128000")
    assert (flag(m4a, "-f"), flag(m4a, "-movflags"), flag(m4a, "-map_chapters")) == ("ipod", "+faststart", "-1")
    assert flag(m4a, "-map_metadata:g") == "-1" and flag(m4a, "-map_metadata:s") == "-1"
    with_chapters = ffmpeg.audio_encode_argv(p, gain_db=0, exe="ff", outdir=Path("/w"), chapters_file=Path("/w/c"))
    assert [path for path, _ in input_options(with_chapters)] == ["/up/in.mp3", "/w/c"]
    assert flag(output(with_chapters, "/w/audio.m4a"), "-map_chapters") == "1"  # input 1: the FFMETADATA file
    assert flag(output(with_chapters, "/w/audio.mp3"), "-map_chapters") == "-1"


def test_gain_is_clamped() -> None:
    argv = ffmpeg.audio_encode_argv(plan(audio_probe(2), CONFIG), gain_db=55.0, exe="ffmpeg", outdir=Path("/w"))
    assert "volume=30.00dB" in [f for _, f, _ in graph(argv)]
    assert ffmpeg.clamp_gain(-55.0) == -30.0


def tee_slaves(target: str) -> list[tuple[dict[str, str], str]]:
    """Parse a tee muxer target the way libavformat does: split at unescaped "|" (av_get_token: a backslash
    takes the next character literally, '...' quotes), then split "[k=v:k=v]" (av_get_token again per
    key and value, ending at ":" or "]") from the file name."""

    def token(text: str, i: int, stops: str) -> tuple[str, int]:
        out = []
        while i < len(text) and text[i] not in stops:
            ch = text[i]
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 2
            elif ch == "'":
                close = text.index("'", i + 1)
                out.append(text[i + 1 : close])
                i = close + 1
            else:
                out.append(ch)
                i += 1
        return "".join(out), i

    slaves, i = [], 0
    while i < len(target):
        slave, i = token(target, i, "|")
        i += 1
        options: dict[str, str] = {}
        j = 0
        if slave.startswith("["):
            j = 1
            while slave[j] != "]":
                key, j = token(slave, j, "=:]")
                value, j = token(slave, j + 1, ":]")
                options[key] = value
                j += slave[j] == ":"
            j += 1
        slaves.append((options, slave[j:]))
    return slaves


def test_tee_target_survives_any_path() -> None:
    nasty = Path("/w/it's a [test] | dir:1, x=y\\z/seg_%03d.m4s")
    options = {"f": "hls", "select": "v:0,a:1", "hls_segment_filename": str(nasty)}
    target = tee_target([(options, nasty.parent / "index.m3u8"), ({"f": "ipod"}, Path("/w/a b.m4a"))])
    assert tee_slaves(target) == [
        ({"f": "hls", "select": "v:0,a:1", "hls_segment_filename": str(nasty)}, str(nasty.parent / "index.m3u8")),
        ({"f": "ipod"}, "/w/a b.m4a"),
    ]


def test_rung_threads_share_the_cpus_by_pixel_rate() -> None:
    p = plan(video_probe(1920, 1080), replace(CONFIG, encode_cpus=2))
    # 1080p is 57 % of the ladder's pixels: 2 threads; the others one each (x264's default would be 3 each).
    assert [r.threads for r in p.rungs] == [2, 1, 1, 1]
    p = plan(video_probe(1920, 1080), replace(CONFIG, encode_cpus=8))
    assert [r.threads for r in p.rungs] == [5, 3, 1, 1]
    assert [r.threads for r in plan(video_probe(320, 240), replace(CONFIG, encode_cpus=1)).rungs] == [1]


def test_video_encode_argv_single_decode_keyframes_and_caps() -> None:
    p = plan(video_probe(1920, 1080), replace(CONFIG, encode_cpus=2))
    argv = video_argv.video_encode_argv(p, gain_db=1.0, exe="ffmpeg", outdir=Path("/w"))
    nodes = graph(argv)
    text = flag(argv, "-filter_complex")
    assert argv.count("-i") == 1 and text.count("[0:v:0]") == 1 and text.count("[0:a:0]") == 1
    # Cascade: each rung scales the previous rung's output, so the whole ladder hangs off one decode. Only the
    # top rung resamples to a constant rate: the others keep it (same 30 fps). The top rung converts whatever
    # the source is with swscale; the rungs below resize its yuv420p with zimg (swscale's bicubic kernel).
    zscale = "zscale={}:filter=bicubic:param_a=0:param_b=0.6"
    expected = ["0:v:0", "fps=30/1", "scale=1920:1080", "setsar=1", "format=yuv420p", "split=3"]
    for size, branches in (("1280:720", 2), ("854:480", 2)):
        expected += [zscale.format(size), "setsar=1", "format=yuv420p", f"split={branches}"]
    bottom = zscale.format("640:360")
    assert lineage(nodes, bottom) == [*expected, bottom]
    # The poster: 20 frames sampled across the video, the black ones dropped, the first one as the last resort.
    sampled = ["split=3", "fps=20/60:eof_action=pass", "split=2"]
    assert lineage(nodes, "thumbnail=n=20")[-7:] == [
        *sampled, "signalstats", "metadata=function=greater:key=lavfi.signalstats.YAVG:mode=select:value=32",
        "concat=a=0:n=2:v=1", "thumbnail=n=20",
    ]  # fmt: skip
    [(concat_inputs, _, _)] = [node for node in nodes if node[1].startswith("concat")]
    producer = {pad: i for i, (_, _, outs) in enumerate(nodes) for pad in outs}
    assert lineage(nodes, producer[concat_inputs[1]])[-4:] == [*sampled, "trim=end_frame=1"]
    # The storyboard samples the smallest rung; the poster and thumbnail pick from the largest.
    assert lineage(nodes, "tile=10x6")[-7:] == [
        bottom, "setsar=1", "format=yuv420p", "split=2", "fps=1/1:eof_action=pass", "scale=160:90", "tile=10x6",
    ]  # fmt: skip
    names = [name for name, _ in outputs(argv)]
    assert names[1:] == ["/w/poster.jpg", "/w/thumbnail.jpg", "/w/storyboard.jpg", "/w/audio.mp3", "pipe:1"]
    # One tee output carries the four H.264 streams and two AAC encodes (128k for 1080p–480p, 96k for 360p
    # and the M4A): every MP4, HLS variant and the M4A are muxed from those packets, nothing is encoded twice.
    ladder = output(argv, names[0])
    assert flag(ladder, "-f") == "tee"
    audio = lineage(nodes, "volume=1.00dB") + [
        "lowpass=f=16000:poles=2",
        "alimiter=attack=5:latency=true:level=false:limit=0.6683:release=50",
        "asplit=4",  # two AAC encodes + MP3 + waveform
    ]
    assert audio[:2] == ["0:a:0", "aformat=channel_layouts=stereo:sample_fmts=fltp:sample_rates=48000"]
    pictures, sound = mapped(argv, nodes, names[0])[:4], mapped(argv, nodes, names[0])[4:]
    # -map order fixes the stream numbers the options and the slaves' "select" use: v:0 is 1080p … v:3 360p.
    assert [lineage(nodes, i)[-4] for i in pictures] == [
        "scale=1920:1080", *(zscale.format(size) for size in ("1280:720", "854:480", "640:360")),
    ]  # fmt: skip
    assert len(sound) == 2 and all(lineage(nodes, i) == audio for i in sound)
    assert (flag(ladder, "-c:a:0"), flag(ladder, "-b:a:0"), flag(ladder, "-b:a:1")) == ("aac", "128000", "96000")
    assert (flag(ladder, "-ac:a:1"), flag(ladder, "-ar:a:1"), flag(ladder, "-map_metadata")) == ("2", "48000", "-1")
    for i, (maxrate, level, threads) in enumerate(
        (("6000000", "4.0", "2"), ("3500000", "3.1", "1"), ("1500000", "3.1", "1"), ("900000", "3.0", "1"))
    ):
        assert flag(ladder, f"-c:v:{i}") == "libx264" and flag(ladder, f"-profile:v:{i}") == "high"
        assert flag(ladder, f"-force_key_frames:v:{i}") == "expr:gte(t,n_forced*2)"
        assert (flag(ladder, f"-sc_threshold:v:{i}"), flag(ladder, f"-g:v:{i}")) == ("0", "60")
        assert flag(ladder, f"-keyint_min:v:{i}") == "60" and flag(ladder, f"-pix_fmt:v:{i}") == "yuv420p"
        assert (flag(ladder, f"-maxrate:v:{i}"), flag(ladder, f"-bufsize:v:{i}")) == (maxrate, str(2 * int(maxrate)))
        assert (flag(ladder, f"-level:v:{i}"), flag(ladder, f"-threads:v:{i}")) == (level, threads)
    slaves = tee_slaves(names[0])
    mp4s = [(o["select"], path) for o, path in slaves if o["f"] == "mp4"]
    assert mp4s == [
        ("v:0,a:0", "/w/video_1080p.mp4"), ("v:1,a:0", "/w/video_720p.mp4"), ("v:2,a:0", "/w/video_480p.mp4"),
        ("v:3,a:1", "/w/video_360p.mp4"),
    ]  # fmt: skip
    assert all(o["movflags"] == "+faststart" for o, _ in slaves if o["f"] in ("mp4", "ipod"))
    hls = [(o, path) for o, path in slaves if o["f"] == "hls"]
    selects = ("v:0,a:0", "v:1,a:0", "v:2,a:0", "v:3,a:1")
    assert [(o["select"], path) for o, path in hls] == [
        (select, f"/w/hls/{h}p/index.m3u8") for select, h in zip(selects, (1080, 720, 480, 360), strict=True)
    ]
    for o, path in hls:
        assert (o["hls_time"], o["hls_segment_type"], o["hls_playlist_type"]) == ("6", "fmp4", "vod")
        assert o["hls_flags"] == "independent_segments" and o["hls_fmp4_init_filename"] == "init.mp4"
        assert o["hls_segment_filename"] == path.replace("index.m3u8", "seg_%03d.m4s")
    assert [(o["f"], o["select"], path) for o, path in slaves if o["f"] == "ipod"] == [("ipod", "a:1", "/w/audio.m4a")]
    assert flag(argv, "-progress") == "pipe:2"
    assert video_argv.hls_variant_dirs(p, Path("/w")) == [Path(f"/w/hls/{h}p") for h in (1080, 720, 480, 360)]


def test_ladder_rates_resample_only_where_the_rate_changes() -> None:
    # 60 fps source: 1080p/720p keep 60, 480p/360p get 30; the fps filter runs at the top and at 480p only.
    p = plan(video_probe(1920, 1080, fps=60), CONFIG)
    nodes = graph(video_argv.video_encode_argv(p, gain_db=0.0, exe="ffmpeg", outdir=Path("/w")))
    bottom = "zscale=640:360:filter=bicubic:param_a=0:param_b=0.6"
    assert [f for f in lineage(nodes, bottom) if f.startswith("fps")] == ["fps=60/1", "fps=30/1"]
    assert video_argv.rung_filter(p.rungs[-1]) == "fps=30/1,scale=640:360,setsar=1,format=yuv420p"


def test_video_without_audio_and_mono_sources_map_their_own_tracks() -> None:
    silent = plan(video_probe(1280, 720, audio_channels=None), CONFIG)
    argv = video_argv.video_encode_argv(silent, gain_db=None, exe="ffmpeg", outdir=Path("/w"))
    assert aac_tracks(silent) == ([], [], None)
    slaves = tee_slaves(outputs(argv)[0][0])
    assert [o["select"] for o, _ in slaves] == ["v:0", "v:1", "v:2", "v:0", "v:1", "v:2"]
    # A mono upload: the rungs get stereo AAC, the M4A stays mono, so it needs its own encode.
    mono = plan(video_probe(1280, 720, audio_channels=1), CONFIG)
    assert aac_tracks(mono) == ([(128_000, 48000, 2), (96_000, 48000, 2), (64_000, 48000, 1)], [0, 0, 1], 2)


def test_chapters_ffmetadata_escapes_and_fills_ends() -> None:
    text = ffmpeg.chapters_ffmetadata([ChapterMark(5.0, None, "b=c;#d"), ChapterMark(0.0, None, "Вступ")], 9.5)
    assert text.splitlines() == [
        ";FFMETADATA1",
        "[CHAPTER]",
        "TIMEBASE=1/1000",
        "START=0",
        "END=5000",
        "title=Вступ",
        "[CHAPTER]",
        "TIMEBASE=1/1000",
        "START=5000",
        "END=9500",
        "title=b\\=c\\;\\#d",
    ]


def test_parse_ebur128_summary_and_gain() -> None:
    log = """[Parsed_ebur128_1 @ 0x1] Summary:

  Integrated loudness:
    I:         -23.4 LUFS
    Threshold: -33.6 LUFS

  Loudness range:
    LRA:         6.1 LU
    Threshold: -43.6 LUFS

  True peak:
    Peak:       -3.2 dBFS""".splitlines()
    measured = parse_ebur128(log)
    assert measured == Loudness(-23.4, -3.2, 6.1)
    assert measured.gain_to(-16.0) == pytest.approx(7.4)
    assert Loudness(-70.0, -60.0, 0.0).gain_to(-16) == 0.0
    with pytest.raises(ValueError, match="no ebur128 summary"):
        parse_ebur128(["nothing here"])


def test_waveform_builder_streams_in_odd_chunks() -> None:
    import array

    samples = array.array("h", [0, 1000, -1000, 32767, -32768, 256, 512, -512, 7])
    raw = samples.tobytes()
    builder = WaveformBuilder(sample_rate=8000, samples_per_pixel=4)
    for i in range(0, len(raw), 3):  # odd chunk sizes split samples across feeds
        builder.feed(raw[i : i + 3])
    doc = builder.result()
    assert doc["length"] == 3 and doc["bits"] == 8 and doc["version"] == 2
    assert doc["data"] == [-4, 127, -128, 2, 7 >> 8, 7 >> 8]


def test_master_playlist_lists_measured_attributes() -> None:
    v = Variant(
        "720p/index.m3u8",
        2_000_000,
        1_500_000,
        "avc1.64001f,mp4a.40.2",
        1280,
        720,
        30.0,
        (Segment("s.m4s", 6.0, 1),),
    )
    text = master_playlist([v])
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in text
    assert (
        '#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1500000,CODECS="avc1.64001f,mp4a.40.2",'
        "RESOLUTION=1280x720,FRAME-RATE=30.000\n720p/index.m3u8"
    ) in text


def test_config_from_settings() -> None:
    settings = SimpleNamespace(
        FFMPEG_BINARY="/opt/ffmpeg",
        MEDIA_MAX_UPLOAD_BYTES=10,
        MEDIA_MAX_WIDTH=1920,
        MEDIA_PROBE_TIMEOUT_SECONDS=5,
    )
    config = MediaConfig.from_settings(settings, x264_preset="ultrafast")
    assert (config.ffmpeg_exe(), config.max_bytes, config.max_width, config.probe_timeout_s) == (
        "/opt/ffmpeg",
        10,
        1920,
        5,
    )
    assert config.max_height == 4096 and config.x264_preset == "ultrafast"
    assert MediaConfig().ffmpeg_exe().endswith(("ffmpeg", "v9.0.2"))


def test_limiter_loss_curve_is_parsed_by_meter_name_and_solved() -> None:
    def summary(name: str, integrated: float, peak: tuple[str, float] | None = None) -> list[str]:
        lines = [f"[ebur128@{name} @ 0x1] Summary:", "", "  Integrated loudness:", f"    I:  {integrated} LUFS",
                 "    Threshold: -40.0 LUFS", "", "  Loudness range:", "    LRA:  3.0 LU"]  # fmt: skip
        if peak is not None:
            lines += ["", f"  {peak[0]} peak:", f"    Peak:  {peak[1]} dBFS"]
        return lines

    # One graph tears down in any order, with the progress line glued in front: names, not positions.
    log = summary("gain1", -18.5) + summary("reference", -30.0, ("True", -1.96)) + summary("gain0", -20.5)
    log = ["size=N/A time=00:00:30.00 bitrate=N/A speed= 200x    " + log[0], *log[1:]]
    log += summary("programme", -30.2, ("Sample", -2.5))
    measured, curve = parse_analysis(log, gains=(10.0, 14.0))
    # The windows' true peak is above the programme's sample peak: it is the one reported.
    assert (measured.integrated_lufs, measured.true_peak_dbtp, measured.lra_lu) == (-30.2, -1.96, 3.0)
    assert curve == [(10.0, 0.5), (14.0, 2.5)]
    gain = solve_gain(measured, curve, target_lufs=-16.0)
    # The result lands on target: -30 + g − loss(g) = −16 with the loss interpolated/extrapolated.
    loss = 2.5 + (2.5 - 0.5) * (gain - 14.0) / 4.0
    assert -30.2 + gain - loss == pytest.approx(-16.0, abs=0.01)
    assert parse_analysis(log, gains=(10.0, 14.0, 18.0))[1] == []  # a missing candidate: no curve
    # A sample of the programme outside the windows is above their true peak: the sample peak is reported.
    louder = [line.replace("-2.5 dBFS", "-0.5 dBFS") for line in log]
    assert parse_analysis(louder, gains=(10.0, 14.0))[0].true_peak_dbtp == -0.5
    with pytest.raises(ValueError, match="no true peak"):
        parse_analysis([line for line in log if "-1.96" not in line], gains=(10.0, 14.0))
    with pytest.raises(ValueError, match="no ebur128 summary"):
        parse_analysis(log[:-3], gains=(10.0, 14.0))


def test_no_limiter_loss_below_the_gain_that_brings_the_true_peak_to_the_ceiling() -> None:
    # The sampled curve says 0.6 dB at +18 and nothing at +12; a straight line between them would claim
    # 0.35 dB at +15.2, where the true peak (-18.7 + 15.2 = -3.5 dBTP) stays under the -3 dBFS ceiling.
    curve = [(12.0, 0.0), (18.0, 0.6), (24.0, 4.2)]
    quiet = Loudness(-31.2, -18.7, 3.0)
    assert solve_gain(quiet, curve, target_lufs=-16.0, ceiling_db=-3.0) == pytest.approx(15.2)
    assert solve_gain(quiet, curve, target_lufs=-16.0) == pytest.approx(15.56, abs=0.01)
    # Above that gain the loss grows from zero at the ceiling (15.7 dB of gain) to the next measurement.
    peaky = Loudness(-31.2, -17.0, 3.0)  # free up to +14 dB
    gain = solve_gain(peaky, curve, target_lufs=-16.0, ceiling_db=-3.0)
    assert -31.2 + gain - 0.6 * (gain - 14.0) / 4.0 == pytest.approx(-16.0, abs=0.01)
    # A noise floor in the sampled measurements below the ceiling gain is ignored.
    noisy = [(0.0, 0.2), (6.0, 0.3), (12.0, 0.4), (18.0, 1.0)]
    assert solve_gain(Loudness(-25.0, -20.0, 3.0), noisy, target_lufs=-16.0, ceiling_db=-3.0) == 9.0


def test_analysis_argv_measures_programme_and_limiter_candidates() -> None:
    short = plan(audio_probe(2), CONFIG)
    argv = ffmpeg.analysis_argv(short, "ffmpeg", probe_gains=(0.0, 12.0))
    # One filter graph on one decode: the programme meter and the limiter's loss curve.
    [programme] = graphs(argv)
    assert argv.count("-i") == 1 and programme.startswith("[0:a:0]")
    nodes = graph(argv)
    filters = [f for _, f, _ in nodes]
    assert not any(f.startswith("aselect=lt") for f in filters)  # 30 s: the curve uses every frame
    assert lineage(nodes, "ebur128@programme=framelog=quiet:peak=sample") == [
        "0:a:0",
        "aformat=channel_layouts=stereo:sample_fmts=fltp:sample_rates=44100",
        "asplit=2",
        "ebur128@programme=framelog=quiet:peak=sample",
    ]
    # The meters are named, so parse_analysis finds each summary by name (reference, then one per gain).
    for meter, gain in (("gain0", "0.00"), ("gain1", "12.00")):
        # The limiter at each candidate gain sees the programme as the encode does (stereo, 44.1 kHz).
        assert lineage(nodes, f"ebur128@{meter}=framelog=quiet") == [
            "0:a:0",
            "aformat=channel_layouts=stereo:sample_fmts=fltp:sample_rates=44100",
            "asplit=2",
            "asplit=3",
            f"volume={gain}dB",
            "lowpass=f=16000:poles=2",
            "alimiter=attack=5:latency=true:level=false:limit=0.6683:release=50",
            f"ebur128@{meter}=framelog=quiet",
        ]
    # The unlimited reference also measures the true peak (BS.1770 Annex 2: ebur128 oversamples 4×).
    assert lineage(nodes, "ebur128@reference=framelog=quiet:peak=true")[-2:] == [
        "asplit=3",
        "ebur128@reference=framelog=quiet:peak=true",
    ]
    # Null outputs fed one frame in 64: the meters' pass-through only carries progress.
    assert [name for name, _ in outputs(argv)] == ["-"] * 2 and argv.count("null") == 2
    producer = {pad: i for i, (_, _, outs) in enumerate(nodes) for pad in outs}
    feeds = [lineage(nodes, producer[flag(options, "-map").strip("[]")]) for _, options in outputs(argv)]
    assert [f[-1] for f in feeds] == ["aselect=not(mod(n\\,64))"] * 2
    assert [f[-2] for f in feeds] == ["ebur128@programme=framelog=quiet:peak=sample", "amix=inputs=3"]
    from dataclasses import replace

    # Long programmes: the curve is measured on 2 s windows, about 30 of them (one every 2 min in an hour),
    # never more often than one every 10 s; ffmpeg-python escapes the commas for the graph parser.
    windows = {
        minutes: next(f for f in (f for _, f, _ in graph(ffmpeg.analysis_argv(replace(short, duration=minutes * 60.0),
            "ffmpeg"))) if f.startswith("aselect=lt"))
        for minutes in (5, 10, 60)
    }  # fmt: skip
    assert windows == {
        5: "aselect=lt(mod(t\\,10)\\,2)",
        10: "aselect=lt(mod(t\\,20)\\,2)",
        60: "aselect=lt(mod(t\\,120)\\,2)",
    }


def test_storyboard_vtt_cues_walk_the_sprite() -> None:
    from episodes.media.storyboard import storyboard_vtt, vtt_time

    images = plan(video_probe(1280, 720, duration=25.5), CONFIG).images
    assert images is not None and (images.tile_count, images.columns, images.rows) == (26, 10, 3)
    text = storyboard_vtt(images, 25.5, "sb.jpg").splitlines()
    assert text[:4] == ["WEBVTT", "", "00:00:00.000 --> 00:00:01.000", "sb.jpg#xywh=0,0,160,90"]
    assert text[-2:] == ["00:00:25.000 --> 00:00:25.500", "sb.jpg#xywh=800,180,160,90"]
    assert vtt_time(3723.0456) == "01:02:03.046"


def test_a_rung_breaking_the_peak_rule_is_encoded_again_at_a_constant_rate() -> None:
    p = plan(video_probe(1280, 720), CONFIG)
    rung = p.rungs[1]  # 480p: maxrate 1.5 Mbit/s, AAC 128k
    argv = video_argv.rung_constant_rate_argv(
        p, rung, video_bitrate=700_000, sound=Path("/w/video_480p.mp4"), exe="ffmpeg", outdir=Path("/w/.cr")
    )
    # The picture from the upload (pinned demuxer, files only), the sound copied from the rung's first MP4.
    assert [(path, options["-f"], options["-protocol_whitelist"]) for path, options in input_options(argv)] == [
        ("/up/in.mp4", "mov", "file"), ("/w/video_480p.mp4", "mov", "file"),
    ]  # fmt: skip
    [(name, ladder)] = outputs(argv)
    assert flag(ladder, "-f") == "tee" and flag(ladder, "-c:a") == "copy"
    # Constant bit rate with filler data instead of CRF; the keyframe rules of every rung are kept.
    assert "-crf" not in ladder and flag(ladder, "-nal-hrd") == "cbr"
    assert [flag(ladder, f) for f in ("-b:v", "-minrate", "-maxrate", "-bufsize")] == [
        "700000", "700000", "700000", "1400000",
    ]  # fmt: skip
    assert (flag(ladder, "-g"), flag(ladder, "-sc_threshold")) == ("60", "0")
    assert flag(ladder, "-force_key_frames") == "expr:gte(t,n_forced*2)"
    assert lineage(graph(argv), "scale=854:480") == ["0:v:0", "fps=30/1", "scale=854:480"]
    slaves = tee_slaves(name)
    assert [(o["f"], o["select"], path) for o, path in slaves] == [
        ("mp4", "v:0,a:0", "/w/.cr/video_480p.mp4"), ("hls", "v:0,a:0", "/w/.cr/hls/480p/index.m3u8"),
    ]  # fmt: skip
    silent = video_argv.rung_constant_rate_argv(p, rung, video_bitrate=700_000, sound=None, exe="ffmpeg",
                                                outdir=Path("/w/.cr"))  # fmt: skip
    assert len(input_options(silent)) == 1 and all(o["select"] == "v:0" for o, _ in tee_slaves(outputs(silent)[0][0]))


@pytest.mark.parametrize(
    ("peak", "average", "expected"),
    [
        (2_000_000, 1_000_000, None),  # exactly 2×: kept
        (3_600_000, 1_000_000, 1_800_000 - 128_000),  # half the peak, less the sound
        (5_000_000, 100_000, 100_000),  # at most twice the size (200k in all), but ≥ 100k of video
        (9_000_000, 4_000_000, 3_500_000),  # … and never above the rung's cap
    ],
)
def test_constant_rate_for_a_rung(peak: int, average: int, expected: int | None) -> None:
    from episodes.media.pipeline import constant_rate_for

    rung = plan(video_probe(1280, 720), CONFIG).rungs[0]  # 720p: maxrate 3.5 Mbit/s
    variant = Variant("720p/index.m3u8", peak, average, "", 1280, 720, 30.0, ())
    assert constant_rate_for(variant, rung, 128_000) == expected


@pytest.mark.parametrize(
    ("width", "height", "fps", "threads"),
    [(1920, 1080, 30.0, 1), (1080, 1920, 25.0, 1), (640, 480, 15.0, 1), (1920, 1080, 60.0, 0), (3840, 2160, 30.0, 0)],
)
def test_ladder_decodes_on_one_thread_up_to_1080p30(width: int, height: int, fps: float, threads: int) -> None:
    p = plan(video_probe(width, height, fps), CONFIG)
    assert p.decode_threads == threads
    argv = video_argv.video_encode_argv(p, gain_db=0.0, exe="ffmpeg", outdir=Path("/w"))
    [(_, options)] = input_options(argv)
    assert options.get("-threads") == (str(threads) if threads else None)
    # The constant-rate re-encode of one rung keeps ffmpeg's frame threads: there the decode is the long pole.
    again = video_argv.rung_constant_rate_argv(p, p.rungs[-1], video_bitrate=500_000, sound=None, exe="ffmpeg",
                                               outdir=Path("/w/.cr"))  # fmt: skip
    assert "-threads" not in input_options(again)[0][1]
