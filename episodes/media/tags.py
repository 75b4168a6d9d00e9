"""Write episode metadata into the rendered files with mutagen.

Usage::

    from episodes.media.tags import ChapterMark, TagMeta, write_id3, write_mp4

    meta = TagMeta(title="Україна: тиждень 5", show="Тиждень", author="Newsroom", date="2025-03-07",
                   description="...", cover=Path("cover.jpg"),
                   chapters=(ChapterMark(0.0, 60.0, "Intro"), ChapterMark(60.0, None, "News")))
    write_id3(Path("audio.mp3"), meta, duration=1800.0)    # ID3v2.3 incl. APIC, CHAP + CTOC
    write_mp4(Path("audio.m4a"), meta)                      # ©nam ©ART ©alb ©day desc trkn covr
    write_opus(Path("audio.opus"), meta, duration=1800.0)   # Vorbis comments, CHAPTERnnn, METADATA_BLOCK_PICTURE

Rewriting the tags of a stored file without re-encoding it is episodes.media.retag.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from mutagen import id3
from mutagen.flac import Picture
from mutagen.mp4 import MP4, MP4Cover
from mutagen.oggopus import OggOpus


@dataclass(frozen=True, slots=True)
class ChapterMark:
    """A chapter; ``end_s`` None means "until the next chapter (or the end)"."""

    start_s: float
    end_s: float | None
    title: str


@dataclass(frozen=True, slots=True)
class TagMeta:
    """Episode metadata written into every audio rendition."""

    title: str = ""
    show: str = ""
    author: str = ""
    date: str = ""
    description: str = ""
    language: str = "und"
    cover: Path | None = None
    chapters: tuple[ChapterMark, ...] = ()
    number: int | None = None  # the episode number (TRCK, trkn, TRACKNUMBER)
    season: int | None = None  # the season (TPOS, disk, DISCNUMBER)


def _cover(meta: TagMeta) -> tuple[bytes, str] | None:
    if meta.cover is None:
        return None
    data = Path(meta.cover).read_bytes()
    mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return data, mime


def chapter_spans(chapters: tuple[ChapterMark, ...], duration: float) -> list[tuple[float, float, str]]:
    """Sort chapters and fill open ends with the next start (or the duration)."""
    marks = sorted(chapters, key=lambda c: c.start_s)
    spans = []
    for i, mark in enumerate(marks):
        end = mark.end_s if mark.end_s is not None else (marks[i + 1].start_s if i + 1 < len(marks) else duration)
        spans.append((mark.start_s, max(end, mark.start_s), mark.title))
    return spans


def write_id3(path: Path, meta: TagMeta, *, duration: float) -> None:
    """Replace the MP3's tags with ID3v2.3: text frames, COMM, APIC and CHAP/CTOC chapters."""
    tags = id3.ID3()
    enc = id3.Encoding.UTF16  # ID3v2.3 has no UTF-8; UTF-16 keeps Cyrillic intact
    if meta.title:
        tags.add(id3.TIT2(encoding=enc, text=meta.title))
    if meta.author:
        tags.add(id3.TPE1(encoding=enc, text=meta.author))
    if meta.show:
        tags.add(id3.TALB(encoding=enc, text=meta.show))
    if meta.date:
        # ID3v2.3 dates are TYER (YYYY) + TDAT (DDMM); the v2.4 TDRC is unknown to v2.3 readers (eyed3 reads no
        # date from it), and mutagen keeps a TDRC it is given when saving v2.3.
        tags.add(id3.TYER(encoding=enc, text=meta.date[:4]))
        if len(meta.date) >= 10:
            tags.add(id3.TDAT(encoding=enc, text=meta.date[8:10] + meta.date[5:7]))
    if meta.number:
        tags.add(id3.TRCK(encoding=enc, text=str(meta.number)))
    if meta.season:
        tags.add(id3.TPOS(encoding=enc, text=str(meta.season)))
    if meta.description:
        tags.add(id3.COMM(encoding=enc, lang=meta.language[:3].ljust(3, "x"), desc="", text=meta.description))
    cover = _cover(meta)
    if cover is not None:
        tags.add(id3.APIC(encoding=enc, mime=cover[1], type=id3.PictureType.COVER_FRONT, desc="", data=cover[0]))
    spans = chapter_spans(meta.chapters, duration)
    if spans:
        ids = [f"chp{i}" for i in range(len(spans))]
        tags.add(
            id3.CTOC(
                element_id="toc",
                flags=id3.CTOCFlags.TOP_LEVEL | id3.CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[id3.TIT2(encoding=enc, text="Chapters")],
            )
        )
        for element_id, (start, end, title) in zip(ids, spans, strict=True):
            tags.add(
                id3.CHAP(
                    element_id=element_id,
                    start_time=int(start * 1000),
                    end_time=int(end * 1000),
                    sub_frames=[id3.TIT2(encoding=enc, text=title)],
                )
            )
    tags.save(path, v2_version=3)


def read_id3_chapters(path: Path) -> list[tuple[float, float, str]]:
    """Read chapters back in table-of-contents order (CHAP frames alone come back in any order)."""
    tags = id3.ID3(path)
    chaps = {f.element_id: f for f in tags.getall("CHAP")}
    tocs = tags.getall("CTOC")
    order = list(tocs[0].child_element_ids) if tocs else sorted(chaps, key=lambda k: chaps[k].start_time)
    result = []
    for element_id in order:
        frame = chaps[element_id]
        title = frame.sub_frames.get("TIT2")
        result.append((frame.start_time / 1000, frame.end_time / 1000, str(title.text[0]) if title else ""))
    return result


def write_mp4(path: Path, meta: TagMeta) -> None:
    """Set iTunes-style atoms on an M4A/MP4 (chapters are muxed by ffmpeg from FFMETADATA)."""
    mp4 = MP4(path)
    if mp4.tags is None:
        mp4.add_tags()
    assert mp4.tags is not None  # noqa: S101 - narrowing for mypy
    for key, value in (
        ("\xa9nam", meta.title),
        ("\xa9ART", meta.author),
        ("\xa9alb", meta.show),
        ("\xa9day", meta.date),
        ("desc", meta.description),
    ):
        if value:
            mp4.tags[key] = [value]
        else:
            mp4.tags.pop(key, None)
    for key, number in (("trkn", meta.number), ("disk", meta.season)):
        if number:
            mp4.tags[key] = [(number, 0)]
        else:
            mp4.tags.pop(key, None)
    cover = _cover(meta)
    mp4.tags.pop("covr", None)
    if cover is not None:
        fmt = MP4Cover.FORMAT_PNG if cover[1] == "image/png" else MP4Cover.FORMAT_JPEG
        mp4.tags["covr"] = [MP4Cover(cover[0], imageformat=fmt)]
    mp4.save()


def _vorbis_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    return f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"


def write_opus(path: Path, meta: TagMeta, *, duration: float = 0.0) -> None:
    """Set Vorbis comments on an Ogg Opus file: text, numbers, chapters (CHAPTERnnn, the Vorbis chapter
    convention) and the cover (METADATA_BLOCK_PICTURE). Comments we own are replaced, others kept."""
    opus = OggOpus(path)
    assert opus.tags is not None  # noqa: S101 - narrowing for mypy
    for key in list(opus.tags.keys()):
        if key.upper().startswith("CHAPTER") or key.upper() == "METADATA_BLOCK_PICTURE":
            del opus.tags[key]
    for key, value in (
        ("title", meta.title),
        ("artist", meta.author),
        ("album", meta.show),
        ("date", meta.date),
        ("description", meta.description),
        ("tracknumber", str(meta.number or "")),
        ("discnumber", str(meta.season or "")),
    ):
        if value:
            opus.tags[key] = [value]
        elif key in opus.tags:
            del opus.tags[key]
    for i, (start, _end, title) in enumerate(chapter_spans(meta.chapters, duration), start=1):
        opus.tags[f"CHAPTER{i:03d}"] = [_vorbis_time(start)]
        opus.tags[f"CHAPTER{i:03d}NAME"] = [title]
    cover = _cover(meta)
    if cover is not None:
        picture = Picture()
        picture.type, picture.mime, picture.data = id3.PictureType.COVER_FRONT, cover[1], cover[0]
        opus.tags["METADATA_BLOCK_PICTURE"] = [base64.b64encode(picture.write()).decode("ascii")]
    opus.save()
