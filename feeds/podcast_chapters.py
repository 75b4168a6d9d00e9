"""Podcasting 2.0 JSON chapters (podcast-namespace chapters/jsonChapters.md) as a pure function.

    doc = chapters_document([Chapter(0, "Вступ"), Chapter(95.5, "Інтерв'ю", url="https://example.com/i")])
    # {"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Вступ"}, {"startTime": 95.5, ...}]}
    body = chapters_json(chapters)   # UTF-8 bytes, served as application/json+chapters

Chapters are sorted by start time: ID3 CHAP frames can come back out of order (see FACTS).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from feeds.data import Chapter
from feeds.formatting import xml_text

CHAPTERS_VERSION = "1.2.0"
CHAPTERS_MIME_TYPE = "application/json+chapters"


def _seconds(value: float) -> int | float:
    """Keep whole seconds as integers (0, not 0.0) and round the rest to milliseconds."""
    rounded = round(float(value), 3)
    return int(rounded) if rounded.is_integer() else rounded


def chapters_document(chapters: Sequence[Chapter]) -> dict[str, Any]:
    """Build the JSON chapters document as a dict, chapters ordered by start time."""
    entries: list[dict[str, Any]] = []
    for chapter in sorted(chapters, key=lambda c: c.start_time):
        entry: dict[str, Any] = {"startTime": _seconds(chapter.start_time), "title": xml_text(chapter.title)}
        if chapter.img:
            entry["img"] = chapter.img
        if chapter.url:
            entry["url"] = chapter.url
        if not chapter.toc:
            entry["toc"] = False
        entries.append(entry)
    return {"version": CHAPTERS_VERSION, "chapters": entries}


def chapters_json(chapters: Sequence[Chapter]) -> bytes:
    """Serialise the chapters document as compact UTF-8 JSON (Cyrillic kept readable, not \\u-escaped)."""
    document = chapters_document(chapters)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
