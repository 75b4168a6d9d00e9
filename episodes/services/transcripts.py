"""Transcripts: WebVTT or SRT, validated by parsing, stored under a deterministic key, text kept for search.

``transcript_attach(owner=episode, language="uk", fmt="vtt", content=text)`` replaces the owner's transcript
in that language and format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from episodes.models import Episode, Transcript, Video

from .errors import InvalidInput, NotFound, PayloadTooLarge
from .uploads import owner_prefix

# Below Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), which bounds the JSON body; ~20 hours of speech.
TRANSCRIPT_MAX_BYTES = 2 * 1024 * 1024
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# 00:01:02.500 (VTT; hours optional) or 00:01:02,500 (SRT).
_TS = r"(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)[.,](\d{3})"
CUE_TIMING = re.compile(rf"^\s*{_TS}\s+-->\s+{_TS}(?:\s+.*)?$")
_TAGS = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _bad(message: str) -> InvalidInput:
    return InvalidInput(f"content: {message}", fields={"content": [message]})


def _seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def _parse_blocks(body: str, fmt: str) -> list[Cue]:
    cues: list[Cue] = []
    for index, block in enumerate(re.split(r"\n\s*\n", body.strip())):
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        head = lines[0].strip()
        if fmt == "vtt" and (head.startswith("NOTE") or head in {"STYLE", "REGION"}):
            continue
        timing_at = next((i for i, line in enumerate(lines[:2]) if "-->" in line), None)
        if timing_at is None:
            raise _bad(f"Cue {index + 1} has no timing line ('00:00:01.000 --> 00:00:02.000').")
        if fmt == "srt" and (timing_at != 1 or not head.isdigit()):
            raise _bad(f"SRT cue {index + 1} must start with its number, then its timing.")
        match = CUE_TIMING.match(lines[timing_at])
        if match is None:
            raise _bad(f"Cue {index + 1} has a malformed timing line: {lines[timing_at][:80]!r}.")
        g = match.groups()
        start, end = _seconds(*g[0:4]), _seconds(*g[4:8])
        if end < start:
            raise _bad(f"Cue {index + 1} ends before it starts.")
        text = " ".join(_TAGS.sub("", line).strip() for line in lines[timing_at + 1 :])
        cues.append(Cue(start=start, end=end, text=text))
    return cues


def parse_transcript(content: str, fmt: str) -> list[Cue]:
    """Parse WebVTT or SRT into cues; raise ``InvalidInput`` saying what is wrong."""
    body = content.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if fmt == "vtt":
        header, _, body = body.partition("\n\n")
        if not re.match(r"^WEBVTT([ \t].*)?$", header.split("\n", 1)[0]) or "-->" in header:
            raise _bad("A WebVTT file starts with the line 'WEBVTT' and a blank line before the first cue.")
    elif fmt != "srt":
        raise InvalidInput("format: Use 'vtt' or 'srt'.", fields={"format": ["Use 'vtt' or 'srt'."]})
    cues = _parse_blocks(body, fmt)
    if not cues:
        raise _bad("The transcript has no cues.")
    return cues


def transcript_key(owner: Episode | Video, language: str, fmt: str) -> str:
    return f"transcripts/{owner_prefix(owner)}/{language}.{fmt}"


def transcript_attach(*, owner: Episode | Video, language: str, fmt: str, content: str) -> Transcript:
    """Validate, store (replacing the same language+format) and index a transcript."""
    data = content.encode("utf-8")
    if len(data) > TRANSCRIPT_MAX_BYTES:
        raise PayloadTooLarge(f"A transcript may be at most {TRANSCRIPT_MAX_BYTES // (1024 * 1024)} MB.")
    if not LANGUAGE_RE.match(language or ""):
        raise InvalidInput("language: Use a BCP 47 tag such as 'uk' or 'en-GB'.", fields={"language": ["Invalid."]})
    cues = parse_transcript(content, fmt)
    text = " ".join(cue.text for cue in cues if cue.text)
    key = transcript_key(owner, language, fmt)
    with transaction.atomic():
        if default_storage.exists(key):
            default_storage.delete(key)
        stored = default_storage.save(key, ContentFile(data))
        owner_field = "episode" if isinstance(owner, Episode) else "video"
        lookup: dict[str, Any] = {owner_field: owner, "language": language, "format": fmt}
        transcript, _ = Transcript.objects.update_or_create(
            defaults={"storage_key": stored, "byte_size": len(data), "text": text}, **lookup
        )
    return transcript


def transcript_delete(*, owner: Episode | Video, language: str, fmt: str) -> None:
    owner_field = "episode" if isinstance(owner, Episode) else "video"
    transcript = Transcript.objects.filter(**{owner_field: owner}, language=language, format=fmt).first()
    if transcript is None:
        raise NotFound("No transcript in this language and format.")
    key = transcript.storage_key
    transcript.delete()
    transaction.on_commit(lambda: default_storage.delete(key))
