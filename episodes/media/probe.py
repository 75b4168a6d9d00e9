"""Probe an upload out of process and classify it as audio, video or rejected.

Usage::

    from episodes.media.probe import probe

    result = probe(Path("upload.bin"), MediaConfig())
    if result.kind == "rejected":
        print(result.reason)          # "The file is empty."
    else:
        print(result.duration, result.video.width if result.video else None)

The probe runs ``python -m episodes.media.probe_worker`` with setrlimit caps and a kill-on-timeout, and
opens the file with a demuxer allow list and ``protocol_whitelist=file``: playlists never get followed.

A probe that runs out of time while working (its CPU time is at least ``STARVED_CPU_SHARE`` of the time
allowed) was kept busy by the file: the file is rejected. One that got less CPU than that was starved by a
busy machine: ``ProbeStarved`` is raised, and the job tries again later.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .config import MediaConfig
from .errors import ProbeError, ProbeStarved

Kind = Literal["audio", "video", "rejected"]
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Below this share of the timeout in CPU seconds, a timed-out probe was starved rather than kept busy.
STARVED_CPU_SHARE = 0.25
_ACCEPTED = "audio or video file (MP3, M4A, WAV, FLAC, Ogg, MP4, MOV, MKV or WebM)"


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """One stream as the probe saw it; video sizes are display sizes (rotation applied)."""

    index: int
    kind: str
    codec: str | None
    profile: str | None = None
    bit_rate: int | None = None
    duration: float | None = None
    attached_pic: bool = False
    language: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    channel_layout: str | None = None
    width: int | None = None
    height: int | None = None
    coded_width: int | None = None
    coded_height: int | None = None
    rotation: int = 0
    frame_rate: float | None = None
    vfr: bool = False
    pix_fmt: str | None = None
    bit_depth: int | None = None
    color_transfer: str | None = None
    decoded: bool = True
    tags: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def hdr(self) -> bool:
        """True for PQ (HDR10) or HLG transfer."""
        return self.color_transfer in ("smpte2084", "arib-std-b67")


@dataclass(frozen=True, slots=True)
class ChapterInfo:
    start: float
    end: float
    title: str


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What the file is, and whether we take it (``kind``) with a producer-facing ``reason`` if not."""

    path: Path
    kind: Kind
    size_bytes: int
    reason: str | None = None
    format_name: str | None = None
    duration: float = 0.0
    bit_rate: int | None = None
    streams: tuple[StreamInfo, ...] = ()
    chapters: tuple[ChapterInfo, ...] = ()
    tags: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def demuxer(self) -> str:
        """Name to pass to ``ffmpeg -f`` so ffmpeg never re-detects the format."""
        return (self.format_name or "").split(",")[0]

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "audio"), None)

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video" and not s.attached_pic), None)

    @property
    def cover(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video" and s.attached_pic), None)


def _human_size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _sniff(path: Path) -> str | None:
    """Name text-like content ffmpeg would not tell us about (playlists, HTML, plain text)."""
    with path.open("rb") as fh:
        head = fh.read(512)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"#EXTM3U"):
        return "hls playlist"
    if b"<svg" in head.lower():
        return "svg_pipe"
    if stripped[:5].lower() in (b"<!doc", b"<html") or stripped.startswith(b"<?xml"):
        return "html/xml text"
    body = head.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark (Windows editors write one) is not text
    text = body.decode("utf-8", errors="ignore")
    if body and len(text.encode()) >= len(body) - 3 and all(c.isprintable() or c in "\t\r\n" for c in text):
        return "text"
    return None


_PICTURES = {"png": "PNG", "jpeg": "JPEG", "svg": "SVG", "webp": "WebP", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF",
             "apng": "PNG", "jpegxl": "JPEG XL", "heif": "HEIF", "avif": "AVIF", "psd": "Photoshop"}  # fmt: skip
_SUBTITLES = {"srt", "webvtt", "ass", "subviewer", "subviewer1", "microdvd", "sami", "mpl2", "jacosub", "lrc", "stl"}
# Formats ffmpeg reads but we do not take, by the name producers know them by.
_REFUSED = {"avi": "an AVI video", "mpegts": "an MPEG transport stream (.ts)", "asf": "a Windows Media file",
            "flv": "a Flash video", "rm": "a RealMedia file", "amr": "an AMR voice memo", "aiff": "an AIFF recording",
            "ape": "a Monkey's Audio file", "mpeg": "an MPEG-PS video (.mpg)", "dv": "a DV video file",
            "mxf": "an MXF video file", "wv": "a WavPack file", "gxf": "a GXF video file"}  # fmt: skip


def _what_it_is(detected: str) -> str:
    """Say in a producer's words what ffmpeg's demuxer name ("svg_pipe", "bin", "srt") means."""
    name = detected.removesuffix("_pipe").removesuffix("_anim")
    if detected.endswith("_pipe") or name in _PICTURES or name == "image2":
        picture = _PICTURES.get(name, "an image")
        return f"This is a picture ({picture}), not a recording." if picture != "an image" else "This is a picture."
    if name in _SUBTITLES:
        return "This is a subtitle or transcript file, not a recording: attach it as a transcript instead."
    if name == "html/xml text":
        return "This is a web page or XML document, not a recording."
    if name in ("text", "tty"):
        return "This is a text document, not a recording."
    if name in _REFUSED:
        return f"This is {_REFUSED[name]}, a format we do not take."
    # "bin" (ffmpeg's guess from the worker's fixed local name), "data" and the rest say nothing to a producer.
    return "This is not a media file we can read."


def _unreadable(path: Path, size: int, report: dict[str, Any]) -> ProbeResult:
    detected = report.get("detected")
    if detected in (None, "bin", "tty"):  # guesses from the file name, not the content: look at the bytes
        detected = _sniff(path) or detected
    elif detected in _SUBTITLES and _sniff(path) != "text":
        # ffmpeg's text-subtitle probes give a low score to binary noise too (1 random file in a few hundred
        # "is" MicroDVD): a subtitle file is text, so random bytes are just not a media file.
        detected = None
    message = str(report.get("message", ""))
    if detected in ("hls", "hls playlist"):
        reason = f"This is a streaming playlist (HLS), not a media file. Upload the {_ACCEPTED} itself."
    elif detected:
        reason = f"{_what_it_is(detected)} Upload an {_ACCEPTED}."
    elif "moov atom not found" in message or report.get("error") == "EOFError":
        reason = "The file is damaged or incomplete (it may have been cut off during upload)."
    else:
        reason = f"This is not a media file we can read. Upload an {_ACCEPTED}."
    return ProbeResult(path=path, kind="rejected", size_bytes=size, reason=reason)


def _stream(entry: dict[str, Any]) -> StreamInfo:
    known = set(StreamInfo.__dataclass_fields__)
    values = {k: v for k, v in entry.items() if k in known}
    values["tags"] = {str(k): str(v) for k, v in (entry.get("tags") or {}).items()}
    return StreamInfo(**values)


def classify(path: Path, size: int, report: dict[str, Any], config: MediaConfig) -> ProbeResult:
    """Turn the worker's JSON report into a ProbeResult, applying the configured limits."""
    if not report.get("ok"):
        return _unreadable(path, size, report)
    streams = tuple(_stream(e) for e in report.get("streams", []))
    chapters = tuple(ChapterInfo(**c) for c in report.get("chapters", []))
    durations = [s.duration for s in streams if s.duration and s.kind in ("audio", "video")]
    duration = float(report.get("duration") or max(durations, default=0.0))
    base = ProbeResult(
        path=path,
        kind="rejected",
        size_bytes=size,
        format_name=report.get("format"),
        duration=duration,
        bit_rate=report.get("bit_rate"),
        streams=streams,
        chapters=chapters,
        tags={str(k): str(v) for k, v in (report.get("tags") or {}).items()},
    )
    video, audio = base.video, base.audio
    kind: Kind = "video" if video is not None else "audio" if audio is not None else "rejected"
    reason: str | None = None
    if kind == "rejected":
        reason = "The file contains no audio or video we can use."
    elif duration <= 0:
        reason = "The file has no playable duration (it may be damaged or incomplete)."
    elif duration > config.max_duration_s:
        reason = f"The recording is {_clock(duration)} long; the limit is {_clock(config.max_duration_s)}."
    elif video is not None and (video.width or 0) * (video.height or 0) == 0:
        reason = "The video has no picture size we can read."
    elif video is not None and not _fits(video.width or 0, video.height or 0, config):
        reason = f"The video is {video.width}×{video.height}; the limit is {config.max_width}×{config.max_height}."
    elif video is not None and not video.decoded:
        reason = "The video stream could not be decoded (it may be damaged or use an unsupported codec)."
    if reason is not None:
        kind = "rejected"
    return replace(base, kind=kind, reason=reason)


def _fits(width: int, height: int, config: MediaConfig) -> bool:
    """Compare orientation-independently: a portrait 2160×3840 fits a 3840×2160 limit."""
    short, long = sorted((width, height))
    limit_short, limit_long = sorted((config.max_width, config.max_height))
    return short <= limit_short and long <= limit_long


def _kill_and_reap(proc: subprocess.Popen[bytes]) -> float:
    """Kill the probe child and return the CPU seconds (user + system) it had used."""
    proc.kill()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:  # already reaped elsewhere: count it as busy (the file is then rejected)
        return float("inf")
    proc.returncode = os.waitstatus_to_exitcode(status)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    return usage.ru_utime + usage.ru_stime


def probe(path: Path, config: MediaConfig) -> ProbeResult:
    """Describe ``path``; never raises for bad input (see ``kind``/``reason``), only for probe failures
    (``ProbeStarved`` when a busy machine kept the probe from finishing in time)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise ProbeError(f"{path} does not exist") from exc
    if size == 0:
        return ProbeResult(path=path, kind="rejected", size_bytes=0, reason="The file is empty.")
    if size > config.max_bytes:
        reason = f"The file is {_human_size(size)}; the limit is {_human_size(config.max_bytes)}."
        return ProbeResult(path=path, kind="rejected", size_bytes=size, reason=reason)
    argv = [
        sys.executable,
        "-m",
        "episodes.media.probe_worker",
        "--formats",
        ",".join(config.input_formats),
        "--max-memory",
        str(config.probe_max_memory_bytes),
        "--max-cpu",
        str(config.probe_max_cpu_s),
        str(path.resolve()),
    ]
    python_path = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, stdin=subprocess.DEVNULL)
    try:
        stdout, stderr = proc.communicate(timeout=config.probe_timeout_s)
    except subprocess.TimeoutExpired:
        cpu_s = _kill_and_reap(proc)
        if cpu_s < STARVED_CPU_SHARE * config.probe_timeout_s:
            raise ProbeStarved(
                f"the probe got {cpu_s:.2f} s of CPU in its {config.probe_timeout_s:g} s: the machine was too busy"
            ) from None
        reason = "We could not analyse this file in time; it may be damaged or deliberately malformed."
        return ProbeResult(path=path, kind="rejected", size_bytes=size, reason=reason)
    except BaseException:  # e.g. the task's soft time limit: never leave the probe child running
        _kill_and_reap(proc)
        raise
    done = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
    try:
        report = json.loads(done.stdout)
    except ValueError as exc:
        if done.returncode < 0:  # killed by a signal: the rlimits tripped (CPU or memory)
            reason = "Analysing this file needed too many resources; it may be damaged or malformed."
            return ProbeResult(path=path, kind="rejected", size_bytes=size, reason=reason)
        tail = done.stderr.decode(errors="replace")[-2000:]
        raise ProbeError(f"probe worker failed ({done.returncode}): {tail}") from exc
    if not report.get("ok") and report.get("error") == "StartupFailed":
        raise ProbeError(f"probe worker could not start under its resource limits: {report.get('message')}")
    if not report.get("ok") and report.get("error") == "MemoryError":
        reason = "Analysing this file needed too much memory; it may be damaged or malformed."
        return ProbeResult(path=path, kind="rejected", size_bytes=size, reason=reason)
    return classify(path, size, report, config)
