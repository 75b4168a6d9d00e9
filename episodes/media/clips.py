"""Social video clips from a soundbite: artwork, title, an animated waveform and burned-in captions, as MP4.

    spec = ClipSpec(audio=Path("audio.m4a"), artwork=Path("cover.jpg"), title="Тиждень 5", start=61.0,
                    duration=30.0, fmt="vertical", work_dir=Path("scratch"), output=Path("clip.mp4"))
    write_subtitles(spec, cues)                  # the title and the transcript's cues inside the soundbite (ASS)
    argv = clip_argv(spec, ffmpeg="ffmpeg")      # pure: compare it in tests, run it with media.runner.run

The audio is the episode's processed rendition, cut and re-encoded without any filter, so the clip is exactly
as loud as the episode there. Captions and the title are rendered by libass with the bundled Noto Sans (SIL OFL,
Latin + Cyrillic, episodes/media/fonts/noto-sans), never a system font.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

FONTS_DIR = Path(__file__).resolve().parent / "fonts" / "noto-sans"
FONT_NAME = "Noto Sans"
FORMATS: dict[str, tuple[int, int]] = {"vertical": (1080, 1920), "square": (1080, 1080)}
FPS = 25
BACKGROUND = "0x14181f"
WAVE_RATE, WAVE_WIDTH = 48_000, 960  # 48000 / (25 fps × 960 px) = 2 samples a column, exactly
# Paths go into an ffmpeg filter graph unquoted: only these characters, so no escaping can go wrong.
_SAFE_PATH = re.compile(r"^[A-Za-z0-9/_.\-]+$")


class CueLike(Protocol):
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class ClipSpec:
    audio: Path
    artwork: Path | None
    title: str
    start: float
    duration: float
    fmt: str  # a key of FORMATS: "vertical" (1080×1920) or "square" (1080×1080)
    work_dir: Path
    output: Path

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown clip format {self.fmt!r}; use one of {sorted(FORMATS)}")

    @property
    def size(self) -> tuple[int, int]:
        return FORMATS[self.fmt]

    @property
    def subtitles(self) -> Path:
        return self.work_dir / "clip.ass"


@dataclass(frozen=True)
class Layout:
    art: int  # the artwork's side
    art_y: int
    wave_h: int
    wave_y: int
    title_y: int  # from the top, ASS MarginV
    caption_y: int  # from the bottom, ASS MarginV


def layout(fmt: str) -> Layout:
    if fmt == "vertical":
        return Layout(art=840, art_y=300, wave_h=260, wave_y=1180, title_y=110, caption_y=300)
    return Layout(art=520, art_y=150, wave_h=160, wave_y=690, title_y=40, caption_y=60)


def _ass_time(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    return f"{hours}:{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"


def _ass_text(text: str) -> str:
    """Plain text for an ASS dialogue line: no override blocks, no escapes, line breaks as \\N."""
    clean = " ".join(text.replace("\\", "\u29f5").replace("{", "(").replace("}", ")").split("\n"))
    return " ".join(clean.split())


def captions_in(cues: Iterable[CueLike], start: float, duration: float) -> list[tuple[float, float, str]]:
    """The cues overlapping [start, start + duration], shifted to the clip's time and clipped to it."""
    end = start + duration
    out = []
    for cue in cues:
        if cue.end <= start or cue.start >= end or not cue.text.strip():
            continue
        out.append((max(0.0, cue.start - start), min(duration, cue.end - start), cue.text))
    return out


def subtitles_ass(spec: ClipSpec, captions: list[tuple[float, float, str]]) -> str:
    """An ASS script: the title on top for the whole clip, the captions at the bottom."""
    w, h = spec.size
    lay = layout(spec.fmt)
    title_size, caption_size = (64, 72) if spec.fmt == "vertical" else (52, 56)
    styles = (
        f"Style: Title,{FONT_NAME},{title_size},&H00FFFFFF,&H00FFFFFF,&H00000000,&H64000000,1,0,0,0,100,100,0,0,1,"
        f"2,0,8,60,60,{lay.title_y},1\n"
        f"Style: Caption,{FONT_NAME},{caption_size},&H00FFFFFF,&H00FFFFFF,&H00000000,&H96000000,1,0,0,0,100,100,0,0,"
        f"3,4,0,2,60,60,{lay.caption_y},1\n"
    )
    events = [f"Dialogue: 0,{_ass_time(0)},{_ass_time(spec.duration)},Title,,0,0,0,,{_ass_text(spec.title)}"]
    events += [
        f"Dialogue: 1,{_ass_time(a)},{_ass_time(b)},Caption,,0,0,0,,{_ass_text(text)}" for a, b, text in captions
    ]
    return (
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 0\nScaledBorderAndShadow: yes\n"
        f"PlayResX: {w}\nPlayResY: {h}\n\n[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding\n"
        f"{styles}\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        + "\n".join(events)
        + "\n"
    )


def write_subtitles(spec: ClipSpec, cues: Iterable[CueLike]) -> Path:
    spec.work_dir.mkdir(parents=True, exist_ok=True)
    spec.subtitles.write_text(subtitles_ass(spec, captions_in(cues, spec.start, spec.duration)), encoding="utf-8")
    return spec.subtitles


def _safe(path: Path) -> str:
    text = str(path)
    if not _SAFE_PATH.match(text):
        raise ValueError(f"unsafe path for an ffmpeg filter: {text!r}")
    return text


def clip_argv(spec: ClipSpec, *, ffmpeg: str, threads: int = 0) -> list[str]:
    """ffmpeg argv: artwork (or a plain panel), a waveform of the soundbite, the title and captions; H.264 + AAC."""
    w, h = spec.size
    lay = layout(spec.fmt)
    inputs = ["-ss", f"{spec.start:.3f}", "-t", f"{spec.duration:.3f}", "-i", str(spec.audio)]
    if spec.artwork is not None:
        inputs += ["-i", str(spec.artwork)]
        # Decode and scale the image once; the loop filter repeats that frame from memory.
        art = (
            f"[1:v]scale={lay.art}:{lay.art}:force_original_aspect_ratio=increase,crop={lay.art}:{lay.art},"
            f"setsar=1,format=yuv420p,loop=loop=-1:size=1:start=0,fps={FPS},trim=duration={spec.duration:.3f}[art];"
        )
    else:
        art = f"color=c=0x2b3340:s={lay.art}x{lay.art}:r={FPS}:d={spec.duration:.3f},format=yuv420p[art];"
    graph = (
        f"color=c={BACKGROUND}:s={w}x{h}:r={FPS}:d={spec.duration:.3f},format=yuv420p[bg];{art}"
        # Each frame shows exactly its own 1/FPS s of audio across the full width (n samples per column).
        f"[0:a]aformat=sample_rates={WAVE_RATE}:channel_layouts=mono,showwaves=s={WAVE_WIDTH}x{lay.wave_h}"
        f":mode=cline:n={WAVE_RATE // (FPS * WAVE_WIDTH)}:scale=sqrt:colors=0x7fb2ff:draw=full,format=yuva420p[wave];"
        f"[bg][art]overlay=x=(W-w)/2:y={lay.art_y}:shortest=1[v1];"
        f"[v1][wave]overlay=x=(W-w)/2:y={lay.wave_y}:shortest=1[v2];"
        f"[v2]subtitles=filename={_safe(spec.subtitles)}:fontsdir={_safe(FONTS_DIR)}[v]"
    )
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-y", *inputs,
        "-filter_complex", graph, "-map", "[v]", "-map", "0:a",
        # Stills and a waveform: veryfast + stillimage tuning keeps a 60 s 1080×1920 clip under a minute on one core.
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-crf", "23", "-pix_fmt", "yuv420p",
        "-threads", str(threads), "-r", str(FPS),
        # The episode's audio, re-encoded with no filter: the clip is as loud as the episode.
        "-c:a", "aac", "-b:a", "160k",
        "-t", f"{spec.duration:.3f}", "-movflags", "+faststart", "-progress", "pipe:2", str(spec.output),
    ]  # fmt: skip
