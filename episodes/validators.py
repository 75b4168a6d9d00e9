"""Field validators shared by models, admin forms and services."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from PIL import Image, UnidentifiedImageError

# ASCII or Unicode letters/digits, joined by single hyphens: "ukraine-insights", "україна-тиждень-5".
SLUG_REGEX = r"^[^\W_]+(?:-[^\W_]+)*\Z"
_slug_regex = RegexValidator(
    SLUG_REGEX,
    message="A slug may hold only lowercase letters, digits and single hyphens between them, e.g. “ukraine-insights”.",
    code="invalid_slug",
)


def validate_media_slug(value: str) -> None:
    """Lowercase letters (any script), digits and single hyphens: it becomes part of URLs."""
    _slug_regex(value)
    if value != value.lower():
        raise ValidationError(
            "A slug may hold only lowercase letters, digits and single hyphens between them, e.g. “ukraine-insights”.",
            code="invalid_slug",
        )


# BCP 47 (RFC 5646) language tag: language[-script][-region](-variant)*, e.g. en, uk, en-GB, sr-Latn-RS, es-419.
_LANGUAGE_TAG = re.compile(
    r"^[a-z]{2,3}(-[a-z]{4})?(-(?:[a-z]{2}|[0-9]{3}))?(-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*$", re.IGNORECASE
)


def validate_language_tag(value: str) -> None:
    """A BCP 47 language tag such as ``en``, ``uk`` or ``en-GB`` (the feed's ``<language>``)."""
    if not _LANGUAGE_TAG.fullmatch(value or ""):
        raise ValidationError(
            "Give a BCP 47 language tag such as “en”, “uk” or “en-GB”, not %(value)r.",
            code="invalid_language", params={"value": value},
        )  # fmt: skip


ARTWORK_MIN_PX = 1400
ARTWORK_MAX_PX = 3000
ARTWORK_MAX_BYTES = 10 * 1024 * 1024


def validate_artwork(file: Any) -> None:
    """Apple's rule: a square JPEG or PNG between 1400 and 3000 pixels a side."""
    if file is None or not getattr(file, "name", None):
        return
    size = getattr(file, "size", None)
    if size is not None and size > ARTWORK_MAX_BYTES:
        raise ValidationError("Artwork must be at most 10 MB.", code="artwork_too_large")
    try:
        file.seek(0)
        with Image.open(file) as image:
            fmt = image.format
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationError("Artwork must be a JPEG or PNG image.", code="artwork_format") from exc
    finally:
        try:
            file.seek(0)
        except (OSError, ValueError):
            pass
    if fmt not in {"JPEG", "PNG"}:
        raise ValidationError(f"Artwork must be a JPEG or PNG image, not {fmt}.", code="artwork_format")
    if width != height:
        raise ValidationError(f"Artwork must be square; this one is {width}×{height}.", code="artwork_square")
    if not ARTWORK_MIN_PX <= width <= ARTWORK_MAX_PX:
        raise ValidationError(
            f"Artwork must be between {ARTWORK_MIN_PX} and {ARTWORK_MAX_PX} pixels a side; "
            f"this one is {width}×{height}.",
            code="artwork_size",
        )


def validate_chapters(value: Any) -> None:
    """Chapters: a list of {"start": seconds, "title": str, "url"?: str, "img"?: str}, in time order."""
    if not isinstance(value, list):
        raise ValidationError("Chapters must be a list.")
    previous = -1.0
    for index, chapter in enumerate(value, start=1):
        if not isinstance(chapter, dict):
            raise ValidationError(f"Chapter {index} must be an object with “start” and “title”.")
        unknown = set(chapter) - {"start", "title", "url", "img"}
        if unknown:
            raise ValidationError(f"Chapter {index} has unknown fields: {', '.join(sorted(unknown))}.")
        start = chapter.get("start")
        title = chapter.get("title")
        if not isinstance(start, int | float) or isinstance(start, bool) or start < 0:
            raise ValidationError(f"Chapter {index} needs a start time in seconds (0 or more).")
        if not isinstance(title, str) or not title.strip():
            raise ValidationError(f"Chapter {index} needs a title.")
        if start <= previous:
            raise ValidationError(f"Chapter {index} starts before or with the chapter before it.")
        for key in ("url", "img"):
            if key in chapter and not (
                isinstance(chapter[key], str) and chapter[key].startswith(("http://", "https://"))
            ):
                raise ValidationError(f"Chapter {index}: “{key}” must be an http(s) URL.")
        previous = float(start)


def validate_funding(value: Any) -> None:
    """Funding links: a list of {"url": https URL, "text": str}."""
    if not isinstance(value, list):
        raise ValidationError("Funding must be a list of {url, text}.")
    for item in value:
        if not isinstance(item, dict) or set(item) - {"url", "text"}:
            raise ValidationError("Each funding entry must be {url, text}.")
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValidationError("Each funding entry needs an http(s) URL.")
        if not isinstance(item.get("text", ""), str) or len(item.get("text", "")) > 128:
            raise ValidationError("Funding text must be at most 128 characters.")


def validate_soundbites(value: Any) -> None:
    """Soundbites: a list of {"start": s, "duration": s, "title"?: str}."""
    if not isinstance(value, list):
        raise ValidationError("Soundbites must be a list.")
    for item in value:
        if not isinstance(item, dict) or set(item) - {"start", "duration", "title"}:
            raise ValidationError("Each soundbite must be {start, duration, title?}.")
        start, duration = item.get("start"), item.get("duration")
        if not isinstance(start, int | float) or start < 0:
            raise ValidationError("A soundbite needs a start time of 0 seconds or more.")
        if not isinstance(duration, int | float) or not 0 < duration <= 300:
            raise ValidationError("A soundbite lasts more than 0 and at most 300 seconds.")


def validate_time_zone(value: str) -> None:
    """An IANA time zone name this machine knows (Europe/Kyiv, UTC)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"“{value}” is not a time zone name such as Europe/Kyiv or UTC.") from exc
