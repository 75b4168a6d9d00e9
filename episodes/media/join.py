"""The other two steps of a chunked video: the programme's sound (once, whole), and the join.

Usage::

    from episodes.media.join import encode_programme_audio, join_chunks

    encode_programme_audio(the_plan, audio_dir, config)             # aac_*.m4a, audio.mp3, waveform.json, …
    result = join_chunks(the_plan, probe_result, [chunk_dir, …], audio_dir, workdir, meta, config,
                         rungs=("360p",))                           # a preview: the lowest rung only
    result = join_chunks(the_plan, probe_result, chunk_dirs, audio_dir, workdir, meta, config)

The sound is analysed and encoded once over the whole programme (one gain, one limiter, no priming or padding
at chunk joins); the join copies packets only: each rung's chunk MP4s are concatenated (ffconcat), muxed with
its AAC track into the rung's faststart MP4 and its fMP4 HLS variant by the same muxers and options as the
whole-file encode. The peak rule, the master playlist, posters, storyboard and tags are the whole-file
pipeline's own steps.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import ffmpeg as ffmpeg_lib

from . import video_argv
from .chunks import POSTER_FILE, RUNG_FILE, TILES_DIR
from .config import MediaConfig
from .ffmpeg import Stream, audio_output, compile_run, fan_out, normalised_audio, untrusted_input, waveform_output
from .loudness import Loudness
from .outputs import OutputFile, commit, describe, staged
from .pipeline import (
    ProcessResult,
    StageFn,
    _analyse,
    _audio_outputs,
    _chapters,
    _conform_peaks,
    _describe_ladder,
    _run,
    _Stages,
    _tag_audio,
    _waveform_builder,
)
from .plan import Plan, aac_tracks
from .probe import ProbeResult
from .storyboard import storyboard_vtt
from .tags import TagMeta
from .tee import tee_target

LOUDNESS_FILE = "loudness.json"
WAVEFORM_FILE = "waveform.json"


def track_file(track: tuple[int, int, int]) -> str:
    """The programme's AAC encode at (bit rate, sample rate, channels)."""
    return "aac_{}_{}_{}.m4a".format(*track)


def programme_audio_argv(plan: Plan, *, gain_db: float, exe: str, outdir: Path, waveform_rate: int) -> list[str]:
    """One decode of the sound: normalised once, each distinct AAC track, the MP3, and the waveform PCM."""
    source = untrusted_input(plan.source, plan.demuxer)
    tracks, _, _ = aac_tracks(plan)
    others = [enc for enc in plan.audio if enc.muxer != "ipod"]
    branches = fan_out(normalised_audio(source, plan, gain_db), len(tracks) + len(others) + 1, audio=True)
    outputs: list[Stream] = []
    for (bitrate, rate, channels), branch in zip(tracks, branches, strict=False):
        options = {"c:a": "aac", "b:a": bitrate, "ar": rate, "ac": channels, "map_metadata": -1,
                   "map_chapters": -1, "movflags": "+faststart"}  # fmt: skip
        outputs.append(ffmpeg_lib.output(branch, str(outdir / track_file((bitrate, rate, channels))), format="ipod",
                                         **options))  # fmt: skip
    for enc, branch in zip(others, branches[len(tracks) :], strict=False):
        outputs.append(audio_output(branch, enc, outdir, chapters=False))
    outputs.append(waveform_output(branches[-1], waveform_rate))
    return compile_run(outputs, exe, progress="pipe:2", single_threaded_filters=True)


def encode_programme_audio(plan: Plan, outdir: Path, config: MediaConfig, on_progress: StageFn | None = None) -> None:
    """Measure the whole programme's loudness, then encode its sound once (``plan`` must have audio)."""
    stages = _Stages(on_progress, {"analyse": (0, 20), "encode": (20, 100)})
    outdir.mkdir(parents=True, exist_ok=True)
    loudness, gain = _analyse(plan, config, stages)
    builder = _waveform_builder(config)
    argv = programme_audio_argv(plan, gain_db=gain or 0.0, exe=config.ffmpeg_exe(), outdir=outdir,
                                waveform_rate=builder.sample_rate)  # fmt: skip
    _run(argv, config, plan.duration, stages.runner("encode"), builder.feed)
    (outdir / WAVEFORM_FILE).write_text(json.dumps(builder.result(), separators=(",", ":")))
    facts = {"loudness": asdict(loudness) if loudness else None, "gain_db": gain}
    (outdir / LOUDNESS_FILE).write_text(json.dumps(facts))


def ffconcat(chunk_dirs: Sequence[Path], name: str, listing: Path) -> None:
    """An ffconcat script of one rung's chunk files, by safe relative names (ffmpeg refuses others)."""
    lines = ["ffconcat version 1.0"]
    for folder in chunk_dirs:
        lines.append(f"file {folder.name}/{RUNG_FILE.format(name=name)}")
    listing.write_text("\n".join(lines) + "\n")


def join_argv(plan: Plan, lists: Sequence[Path], audio_dir: Path | None, *, exe: str, outdir: Path) -> list[str]:
    """Copy every rung's concatenated picture and its AAC track into the rung MP4 + HLS variant (one tee)."""
    videos = [
        ffmpeg_lib.input(str(listing), format="concat", safe=1, protocol_whitelist="file")["v:0"] for listing in lists
    ]
    tracks, rung_tracks, _ = aac_tracks(plan)
    sounds = []
    if audio_dir is not None and plan.has_audio:
        sounds = [untrusted_input(audio_dir / track_file(track), "mov")["a:0"] for track in tracks]
    slaves = []
    for i, rung in enumerate(plan.rungs):
        select = f"v:{i},a:{rung_tracks[i]}" if sounds else f"v:{i}"
        slaves += video_argv._rung_slaves(plan, rung, select, outdir, "hls")  # noqa: SLF001 - the same muxers
    options: dict[str, str | int] = {"c": "copy", "map_metadata": -1, "map_chapters": -1}
    return compile_run([ffmpeg_lib.output(*videos, *sounds, tee_target(slaves), format="tee", **options)], exe)


def _numbered(files: Sequence[Path], folder: Path, count: int | None = None) -> int:
    """Copy ``files`` to folder/00000.jpg, 00001.jpg, … (the last repeated up to ``count``); return how many."""
    folder.mkdir(parents=True)
    wanted = count if count is not None else len(files)
    for n in range(wanted):
        shutil.copyfile(files[min(n, len(files) - 1)], folder / f"{n:05d}.jpg")
    return wanted


def images_argv(plan: Plan, posters: Path, poster_count: int, tiles: Path, *, exe: str, outdir: Path) -> list[str]:
    """The poster (the most representative lit candidate of all chunks), thumbnail and storyboard sprite."""
    im = plan.images
    assert im is not None  # noqa: S101 - video plans always have images
    candidates = ffmpeg_lib.input(str(posters / "%05d.jpg"), format="image2", framerate=1)["v:0"]
    chosen = video_argv._poster_frame(candidates, "1", max(2, poster_count))  # noqa: SLF001 - same choice rule
    big, small = fan_out(chosen, 2, audio=False)
    sprite = ffmpeg_lib.input(str(tiles / "%05d.jpg"), format="image2", framerate=1)["v:0"]
    outputs = [
        video_argv._image_output(big.filter("scale", im.poster_width, im.poster_height), outdir / "poster.jpg"),  # noqa: SLF001
        video_argv._image_output(small.filter("scale", im.thumb_width, im.thumb_height), outdir / "thumbnail.jpg"),  # noqa: SLF001
        video_argv._image_output(sprite.filter("tile", f"{im.columns}x{im.rows}"), outdir / "storyboard.jpg"),  # noqa: SLF001
    ]
    return compile_run(outputs, exe)


def _image_outputs(staging: Path, plan: Plan, written: float) -> list[OutputFile]:
    im = plan.images
    assert im is not None  # noqa: S101
    (staging / "storyboard.vtt").write_text(storyboard_vtt(im, written, "storyboard.jpg"))
    sprite = (im.tile_width * im.columns, im.tile_height * im.rows)
    return [
        describe(staging, "poster.jpg", "poster", "image/jpeg", width=im.poster_width, height=im.poster_height),
        describe(staging, "thumbnail.jpg", "thumbnail", "image/jpeg", width=im.thumb_width, height=im.thumb_height),
        describe(staging, "storyboard.jpg", "storyboard", "image/jpeg", width=sprite[0], height=sprite[1]),
        describe(staging, "storyboard.vtt", "storyboard_vtt", "text/vtt"),
    ]


def _make_images(plan: Plan, chunk_dirs: Sequence[Path], staging: Path, config: MediaConfig) -> None:
    im = plan.images
    assert im is not None  # noqa: S101
    scratch = staging / ".images"
    posters = [d / POSTER_FILE for d in chunk_dirs if (d / POSTER_FILE).exists()]
    count = _numbered(posters, scratch / "posters")
    tiles = [f for d in chunk_dirs for f in sorted((d / TILES_DIR).glob("*.jpg"))]
    _numbered(tiles, scratch / "tiles", im.tile_count)
    argv = images_argv(plan, scratch / "posters", count, scratch / "tiles", exe=config.ffmpeg_exe(), outdir=staging)
    _run(argv, config, 1.0, lambda _pct: None)
    shutil.rmtree(scratch)


def join_chunks(
    plan: Plan,
    info: ProbeResult,
    chunk_dirs: Sequence[Path],
    audio_dir: Path | None,
    workdir: Path,
    meta: TagMeta,
    config: MediaConfig,
    *,
    rungs: Sequence[str] | None = None,
    fetch_source: Callable[[], Path] | None = None,
    on_progress: StageFn | None = None,
) -> ProcessResult:
    """Join the chunks (and the programme's sound) into the outputs a whole-file encode makes.

    ``rungs`` limits the ladder (a preview of the lowest rung). ``fetch_source`` is called only when a rung
    breaks the peak rule and must be encoded again from the upload at a constant rate (returns its path).
    """
    stages = _Stages(on_progress, {"encode": (0, 60), "package": (60, 95), "finalise": (95, 100)})
    if rungs is not None:
        plan = replace(plan, rungs=tuple(r for r in plan.rungs if r.name in rungs))
    staging = staged(workdir)
    try:
        # The ffconcat scripts sit beside the chunk folders and name them relatively (safe names only).
        parent = chunk_dirs[0].parent
        if any(chunk.parent != parent for chunk in chunk_dirs):
            raise ValueError("the chunk folders must share one parent folder")
        lists = []
        for rung in plan.rungs:
            listing = parent / f".{staging.name}-{rung.name}.ffconcat"
            ffconcat(chunk_dirs, rung.name, listing)
            lists.append(listing)
            (staging / "hls" / rung.name).mkdir(parents=True)
        argv = join_argv(plan, lists, audio_dir, exe=config.ffmpeg_exe(), outdir=staging)
        _run(argv, config, plan.duration, stages.runner("encode"))
        stages("package", 0)
        if fetch_source is not None:
            plan = replace(plan, source=_LazySource(fetch_source))  # type: ignore[arg-type]
        _conform_peaks(staging, plan, config, stages)
        outputs = _describe_ladder(staging, plan)
        _make_images(plan, chunk_dirs, staging, config)
        # The storyboard ends where the joined picture ends (as the whole-file encode's does), not at the header's
        # duration: a variable-rate upload's last frame is longer than the constant-rate rungs' last frame.
        outputs += _image_outputs(staging, plan, outputs[0].duration or plan.duration)
        loudness, gain = None, None
        if plan.has_audio and audio_dir is not None:
            tracks, _, m4a_track = aac_tracks(plan)
            for enc in plan.audio:  # the M4A is the programme's AAC track it shares with the rungs
                name = track_file(tracks[m4a_track]) if enc.muxer == "ipod" and m4a_track is not None else enc.filename
                shutil.copyfile(audio_dir / name, staging / enc.filename)
            _tag_audio(staging, plan, replace(meta, chapters=_chapters(meta, info)))
            shutil.copyfile(audio_dir / WAVEFORM_FILE, staging / WAVEFORM_FILE)
            outputs += [*_audio_outputs(staging, plan), describe(staging, WAVEFORM_FILE, "waveform",
                                                                 "application/json")]  # fmt: skip
            facts = json.loads((audio_dir / LOUDNESS_FILE).read_text())
            loudness = Loudness(**facts["loudness"]) if facts["loudness"] else None
            gain = facts["gain_db"]
        stages("finalise", 0)
        commit(staging, workdir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        for listing in chunk_dirs[0].parent.glob(f".{staging.name}-*.ffconcat"):
            listing.unlink()
    stages("finalise", 100)
    return ProcessResult("video", info, plan, tuple(outputs), loudness, gain)


class _LazySource:
    """A path fetched on first use (os.fspath/str): the upload, needed only to re-encode a rung."""

    def __init__(self, fetch: Callable[[], Path]) -> None:
        self._fetch, self._path = fetch, None  # type: Callable[[], Path], Path | None

    def __fspath__(self) -> str:
        if self._path is None:
            self._path = self._fetch()
        return str(self._path)

    __str__ = __fspath__
