"""Rows of real inputs for list-of-objects fields (chapters, soundbites, funding): no JSON for producers.

``RowsField(columns=[Column("start", "Start", kind="time"), Column("title", "Title")])`` renders a table with one
row per entry plus blank rows to add more; the studio script adds, removes and fills rows (from the waveform's
playhead). Without the script the table still saves: blank rows are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

TIME_RE = re.compile(r"^\s*(?:(\d+):)?(?:(\d+):)?(\d+(?:[.,]\d+)?)\s*$")


def parse_time(text: str) -> float:
    """``1:02:03.5``, ``2:03`` or ``123.5`` → seconds."""
    match = TIME_RE.match(text)
    if not match:
        raise ValueError(text)
    a, b, c = match.groups()
    seconds = float(c.replace(",", "."))
    if a is not None and b is not None:
        return int(a) * 3600 + int(b) * 60 + seconds
    if a is not None:
        return int(a) * 60 + seconds
    return seconds


def format_time(value: Any) -> str:
    """Seconds → ``m:ss`` or ``h:mm:ss`` (tenths kept when present)."""
    try:
        total = float(value)
    except (TypeError, ValueError):
        return str(value or "")
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    sec = f"{seconds:04.1f}" if seconds != int(seconds) else f"{int(seconds):02d}"
    return f"{int(hours)}:{int(minutes):02d}:{sec}" if hours else f"{int(minutes)}:{sec}"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | time | seconds | url
    required: bool = False
    help: str = ""


class RowsWidget(forms.Widget):
    template_name = "studio/widgets/rows.html"

    def __init__(self, columns: list[Column], extra: int = 1, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.columns = columns
        self.extra = extra

    def format_value(self, value: Any) -> Any:
        return value if isinstance(value, list) else []

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        entries = list(value) if isinstance(value, list) else []
        rows = []
        for index, entry in enumerate([*entries, *({} for _ in range(self.extra))]):
            cells = []
            for col in self.columns:
                raw = entry.get(col.key, "") if isinstance(entry, dict) else ""
                shown = format_time(raw) if col.kind == "time" and raw != "" and not isinstance(raw, str) else raw
                cells.append({"col": col, "name": f"{name}-{index}-{col.key}", "value": "" if raw is None else shown,
                              "id": f"id_{name}-{index}-{col.key}"})  # fmt: skip
            rows.append({"index": index, "cells": cells})
        context["widget"].update({"columns": self.columns, "rows": rows, "count": len(rows)})
        return context

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        try:
            count = min(int(data.get(f"{name}-count", "0")), 1000)
        except ValueError:
            count = 0
        rows = []
        for index in range(count):
            if data.get(f"{name}-{index}-DELETE"):
                continue
            row = {c.key: str(data.get(f"{name}-{index}-{c.key}", "")).strip() for c in self.columns}
            if any(row.values()):
                rows.append(row)
        return rows

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}-count" not in data


class RowsField(forms.Field):
    """A list of dicts edited as rows; numbers and times are converted, empty optional cells dropped."""

    def __init__(self, *, columns: list[Column], extra: int = 1, **kwargs: Any) -> None:
        self.columns = columns
        kwargs.setdefault("required", False)
        super().__init__(widget=RowsWidget(columns, extra=extra), **kwargs)

    def to_python(self, value: Any) -> list[dict[str, Any]]:
        if not value:
            return []
        if not isinstance(value, list):
            raise ValidationError("Enter the rows in the table.")
        out: list[dict[str, Any]] = []
        for number, row in enumerate(value, start=1):
            entry: dict[str, Any] = {}
            for col in self.columns:
                raw = row.get(col.key, "")
                if isinstance(raw, str):
                    raw = raw.strip()
                if raw in ("", None):
                    if col.required:
                        raise ValidationError(f"Row {number}: “{col.label}” is required.")
                    continue
                entry[col.key] = self._convert(col, raw, number)
            out.append(entry)
        return out

    def _convert(self, col: Column, raw: Any, number: int) -> Any:
        if col.kind not in {"time", "seconds"}:
            return raw
        try:
            seconds = parse_time(raw) if isinstance(raw, str) else float(raw)
        except ValueError:
            raise ValidationError(f"Row {number}: “{col.label}” must be a time like 1:05 or 65 (seconds).") from None
        return int(seconds) if seconds == int(seconds) else round(seconds, 3)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or [])
        except ValidationError:
            return True


CHAPTER_COLUMNS = [
    Column("start", "Start", "time", required=True, help="m:ss"),
    Column("title", "Title", required=True),
    Column("url", "Link (optional)", "url"),
    Column("img", "Image URL (optional)", "url"),
]
SOUNDBITE_COLUMNS = [
    Column("start", "Start", "time", required=True, help="m:ss"),
    Column("duration", "Length (s)", "seconds", required=True),
    Column("title", "Title"),
]
FUNDING_COLUMNS = [Column("url", "Link", "url", required=True), Column("text", "Text", required=True)]
