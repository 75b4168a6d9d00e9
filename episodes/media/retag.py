"""Rewrite the tags of an audio file we made, into a new file, without re-encoding it.

Usage::

    from episodes.media.retag import retag

    retag("audio_mp3", Path("old.mp3"), Path("new.mp3"), meta, duration=3600.0, exe=config.ffmpeg_exe())

The audio bytes are streamed from the old file to the new one in 1 MiB blocks; no file is ever read whole:

- MP3: the new ID3v2.3 tag is written first, then the old file's audio (everything after its ID3v2 tag) is
  appended: one sequential copy, the frames byte for byte.
- M4A: ffmpeg copies the AAC stream (``-c copy``, no decoding) with the new chapters, then mutagen sets the atoms.
- Opus: the file is copied, then mutagen rewrites the comment header pages (its moves are chunked).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import BinaryIO

from .ffmpeg import chapters_ffmetadata, m4a_remux_argv
from .runner import run
from .tags import TagMeta, write_id3, write_mp4, write_opus

CHUNK = 1 << 20
RETAGGED_KINDS = ("audio_mp3", "audio_aac", "audio_opus")


def id3v2_size(fh: BinaryIO) -> int:
    """Bytes taken by the ID3v2 tag at the start of ``fh`` (header, frames, padding, footer); 0 when none."""
    fh.seek(0)
    header = fh.read(10)
    if len(header) < 10 or header[:3] != b"ID3" or any(b & 0x80 for b in header[6:10]):
        return 0
    size = (header[6] << 21) | (header[7] << 14) | (header[8] << 7) | header[9]
    footer = 10 if header[5] & 0x10 else 0
    return 10 + size + footer


def retag_mp3(source: Path, target: Path, meta: TagMeta, *, duration: float) -> None:
    """``target`` = a fresh ID3v2.3 tag + ``source``'s MPEG frames (its own ID3v2 tag skipped)."""
    target.write_bytes(b"")
    write_id3(target, meta, duration=duration)  # on an empty file: just the tag and its padding
    with source.open("rb") as src, target.open("ab") as dst:
        src.seek(id3v2_size(src))
        shutil.copyfileobj(src, dst, CHUNK)


def retag_m4a(source: Path, target: Path, meta: TagMeta, *, duration: float, exe: str) -> None:
    """Remux the AAC stream (stream copy) with the new chapters, then set the iTunes atoms."""
    chapters_file = None
    if meta.chapters:
        chapters_file = target.with_name(target.name + ".ffmeta")
        chapters_file.write_text(chapters_ffmetadata(meta.chapters, duration), encoding="utf-8")
    try:
        run(m4a_remux_argv(source, target, exe=exe, chapters_file=chapters_file), timeout_s=60 + duration / 20)
    finally:
        if chapters_file is not None:
            chapters_file.unlink(missing_ok=True)
    write_mp4(target, meta)


def retag_opus(source: Path, target: Path, meta: TagMeta, *, duration: float) -> None:
    with source.open("rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, CHUNK)
    write_opus(target, meta, duration=duration)


def retag(kind: str, source: Path, target: Path, meta: TagMeta, *, duration: float, exe: str) -> None:
    """Write ``source`` (a rendition of ``kind``, one of RETAGGED_KINDS) to ``target`` with ``meta``'s tags."""
    if kind == "audio_mp3":
        retag_mp3(source, target, meta, duration=duration)
    elif kind == "audio_aac":
        retag_m4a(source, target, meta, duration=duration, exe=exe)
    elif kind == "audio_opus":
        retag_opus(source, target, meta, duration=duration)
    else:
        raise ValueError(f"no tags to rewrite in a {kind!r} rendition")
