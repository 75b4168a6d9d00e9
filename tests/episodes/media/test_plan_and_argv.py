"""Planner and argv builders: pure functions, no ffmpeg runs."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest

from episodes.media import ffmpeg
from episodes.media.config import MediaConfig
from episodes.media.errors import MediaRejected
from episodes.media.hls import Segment, Variant, master_playlist
from episodes.media.loudness import Loudness, parse_analysis, parse_ebur128, solve_gain
from episodes.media.plan import h264_level, plan
from episodes.media.probe import ProbeResult, StreamInfo
from episodes.media.tags import ChapterMark
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
        streams.append(
            StreamInfo(index=1, kind="audio", codec="aac", channels=audio_channels, sample_rate=48000)
        )
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


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1920, 1080), [("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]),
        ((1280, 720), [("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]),
        ((1080, 1920), [("1080p", 1080, 1920), ("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)]),
        ((1000, 700), [("480p", 686, 480), ("360p", 514, 360)]),
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
    argv = ffmpeg.video_encode_argv(p, gain_db=None, exe="ffmpeg", outdir=Path("/w"))
    graph = flag(argv, "-filter_complex")
    assert "tonemap=tonemap=hable" in graph and "[0:a:0]" not in graph
    assert "-c:a" not in argv and "s16le" not in argv


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
        ffmpeg.video_encode_argv(vp, gain_db=-2.0, exe="ffmpeg", outdir=out),
        ffmpeg.hls_argv(vp, exe="ffmpeg", outdir=out),
    ]
    for argv in runs:
        assert all(isinstance(a, str) for a in argv)
        assert {"-nostdin", "-hide_banner", "-y"} <= set(argv)
        assert flag(argv, "-progress") == ("pipe:2" if "s16le" in argv else "pipe:1")
        for i, arg in enumerate(argv):
            if arg == "-i":  # every input is pinned to a demuxer and to plain files
                assert argv[i - 4 : i - 2] == ["-protocol_whitelist", "file"] and argv[i - 2] == "-f"
    assert flag(runs[0], "-f") == "mp3" and flag(runs[2], "-f") == "mov"


def test_audio_encode_argv_one_process_all_outputs_normalised() -> None:
    p = plan(audio_probe(2), CONFIG)
    argv = ffmpeg.audio_encode_argv(p, gain_db=4.25, exe="ffmpeg", outdir=Path("/w"))
    graph = flag(argv, "-filter_complex")
    assert graph.startswith("[0:a:0]aformat=sample_fmts=fltp:sample_rates=44100:channel_layouts=stereo,")
    assert "volume=4.25dB,alimiter=limit=0.7079" in graph and "asplit=4[a0][a1][a2][wsrc]" in graph
    assert argv.count("-i") == 1
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-c:a"] == [
        "libmp3lame",
        "aac",
        "libopus",
        "pcm_s16le",
    ]
    assert argv[-7:] == ["-map", "[wf]", "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1"]
    m4a = argv.index("/w/audio.m4a")
    assert argv[m4a - 4 : m4a] == ["-movflags", "+faststart", "-f", "ipod"]
    with_chapters = ffmpeg.audio_encode_argv(
        p, gain_db=0, exe="ff", outdir=Path("/w"), chapters_file=Path("/w/c")
    )
    assert "ffmetadata" in with_chapters and flag(with_chapters[m4a - 12 :], "-map_chapters") == "1"


def test_gain_is_clamped() -> None:
    assert "volume=30.00dB" in ffmpeg.loudness_chain(55.0, -1.0)


def test_video_encode_argv_single_decode_keyframes_and_caps() -> None:
    p = plan(video_probe(1920, 1080), CONFIG)
    argv = ffmpeg.video_encode_argv(p, gain_db=1.0, exe="ffmpeg", outdir=Path("/w"))
    graph = flag(argv, "-filter_complex")
    assert argv.count("-i") == 1 and graph.count("[0:v:0]") == 1
    # Cascade: each rung scales the previous rung's output.
    assert "[n0]fps=30/1,scale=1280:720" in graph and "[n2]fps=30/1,scale=640:360" in graph
    assert "thumbnail=n=20" in graph and "tile=10x6" in graph
    mp4s = [i for i, a in enumerate(argv) if a.startswith("/w/video_")]
    assert [argv[i] for i in mp4s] == [f"/w/video_{h}p.mp4" for h in (1080, 720, 480, 360)]
    first = argv[argv.index("[v0]") - 1 : mp4s[0] + 1]
    assert flag(first, "-force_key_frames") == "expr:gte(t,n_forced*2)"
    assert (
        flag(first, "-sc_threshold") == "0"
        and flag(first, "-g") == "60"
        and flag(first, "-keyint_min") == "60"
    )
    assert (flag(first, "-maxrate"), flag(first, "-bufsize")) == ("6000000", "12000000")
    assert flag(first, "-profile:v") == "high" and flag(first, "-pix_fmt") == "yuv420p"
    assert flag(first, "-movflags") == "+faststart" and flag(first, "-ac") == "2"
    assert {"/w/poster.jpg", "/w/thumbnail.jpg", "/w/storyboard.jpg", "/w/audio.mp3", "/w/audio.m4a"} <= set(
        argv
    )


def test_hls_argv_remuxes_without_encoding() -> None:
    p = plan(video_probe(1280, 720), CONFIG)
    argv = ffmpeg.hls_argv(p, exe="ffmpeg", outdir=Path("/w"))
    assert flag(argv, "-c") == "copy" and "libx264" not in argv
    assert flag(argv, "-hls_time") == "6" and flag(argv, "-hls_segment_type") == "fmp4"
    assert flag(argv, "-var_stream_map") == "v:0,a:0,name:720p v:1,a:1,name:480p v:2,a:2,name:360p"
    assert argv[-1] == "/w/hls/%v/index.m3u8"


def test_chapters_ffmetadata_escapes_and_fills_ends() -> None:
    text = ffmpeg.chapters_ffmetadata(
        [ChapterMark(5.0, None, "b=c;#d"), ChapterMark(0.0, None, "Вступ")], 9.5
    )
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


def test_limiter_loss_curve_is_parsed_in_graph_order_and_solved() -> None:
    def summary(n: int, integrated: float, peak: float | None = None) -> list[str]:
        lines = [f"[Parsed_ebur128_{n} @ 0x1] Summary:", f"    I:  {integrated} LUFS", "    LRA:  3.0 LU"]
        return lines + ([f"    Peak:  {peak} dBFS"] if peak is not None else [])

    # ffmpeg prints the summaries in reverse order on teardown; instance numbers give the graph order.
    log = summary(9, -18.5) + summary(6, -20.5) + summary(3, -30.0) + summary(1, -30.2, peak=-2.0)
    measured, curve = parse_analysis(log, gains=(10.0, 14.0))
    assert measured.integrated_lufs == -30.2 and measured.true_peak_dbtp == -2.0
    assert curve == [(10.0, 0.5), (14.0, 2.5)]
    gain = solve_gain(measured, curve, target_lufs=-16.0)
    # The result lands on target: -30 + g − loss(g) = −16 with the loss interpolated/extrapolated.
    loss = 2.5 + (2.5 - 0.5) * (gain - 14.0) / 4.0
    assert -30.2 + gain - loss == pytest.approx(-16.0, abs=0.01)


def test_analysis_argv_measures_programme_and_limiter_candidates() -> None:
    short = plan(audio_probe(2), CONFIG)
    argv = ffmpeg.analysis_argv(short, "ffmpeg", probe_gains=(0.0, 12.0))
    graph = flag(argv, "-filter_complex")
    assert "[m]ebur128=peak=true:framelog=quiet[mo]" in graph and "aselect" not in graph
    assert graph.count("alimiter") == 2 and argv.count("null") == 4
    from dataclasses import replace

    hour = ffmpeg.analysis_argv(replace(short, duration=3600.0), "ffmpeg")
    assert "aselect='lt(mod(t,10),2)'" in flag(hour, "-filter_complex")


def test_storyboard_vtt_cues_walk_the_sprite() -> None:
    from episodes.media.storyboard import storyboard_vtt, vtt_time

    images = plan(video_probe(1280, 720, duration=25.5), CONFIG).images
    assert images is not None and (images.tile_count, images.columns, images.rows) == (26, 10, 3)
    text = storyboard_vtt(images, 25.5, "sb.jpg").splitlines()
    assert text[:4] == ["WEBVTT", "", "00:00:00.000 --> 00:00:01.000", "sb.jpg#xywh=0,0,160,90"]
    assert text[-2:] == ["00:00:25.000 --> 00:00:25.500", "sb.jpg#xywh=800,180,160,90"]
    assert vtt_time(3723.0456) == "01:02:03.046"
