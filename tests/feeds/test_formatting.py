"""The small formatters behind the feed: durations, dates, truncation, explicit, text and URL cleaning."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest

from feeds.formatting import (
    apple_description,
    explicit_flag,
    number_attr,
    rfc2822,
    sanitize_show_notes,
    truncate_utf8,
    whole_seconds,
    xml_text,
    xml_url,
)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, 0), (0.4, 0), (0.5, 1), (1.5, 2), (2.5, 3), (1799.6, 1800), (3600, 3600), (7322.49, 7322)],
)
def test_whole_seconds_rounds_half_up(seconds: float, expected: int) -> None:
    assert whole_seconds(seconds) == expected


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_whole_seconds_rejects_impossible_durations(bad: float) -> None:
    with pytest.raises(ValueError):
        whole_seconds(bad)


@pytest.mark.parametrize(
    ("value", "expected"), [(73, "73"), (73.0, "73"), (73.5, "73.5"), (0.1 + 0.2, "0.3"), (48000.0, "48000")]
)
def test_number_attr_has_no_float_noise(value: float, expected: str) -> None:
    assert number_attr(value) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 3, 1, 9, 30, tzinfo=UTC), "Fri, 01 Mar 2024 09:30:00 +0000"),
        (
            datetime(2024, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=2))),
            "Tue, 31 Dec 2024 23:59:59 +0200",
        ),
        (
            datetime(2024, 7, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=-5))),
            "Thu, 04 Jul 2024 05:06:07 -0500",
        ),
    ],
)
def test_rfc2822_dates(moment: datetime, expected: str) -> None:
    assert rfc2822(moment) == expected
    assert parsedate_to_datetime(expected) == moment


def test_rfc2822_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        rfc2822(datetime(2024, 3, 1, 9, 30))  # noqa: DTZ001 - the naive value is the point of the test


@pytest.mark.parametrize(("explicit", "expected"), [(True, "true"), (False, "false")])
def test_explicit_flag_uses_apples_true_false(explicit: bool, expected: str) -> None:
    assert explicit_flag(explicit) == expected


@pytest.mark.parametrize(
    ("text", "max_bytes", "expected"),
    [
        ("short", 10, "short"),
        ("Україна", 14, "Україна"),  # exactly 14 bytes: untouched
        ("Україна", 13, "Украї…"),  # 5 letters (10 bytes) + ellipsis (3 bytes) = 13
        ("Україна", 12, "Укра…"),  # 9 bytes of room end inside "ї": the half letter is dropped
        ("Україна", 7, "Ук…"),
        ("ab cd ef", 7, "ab c…"),
        ("word  тиждень", 9, "word…"),  # the cut lands after spaces: they are trimmed before the ellipsis
        ("Україна", 2, "У"),  # too small for an ellipsis: a bare boundary-safe cut
    ],
)
def test_truncate_utf8_cuts_on_character_boundaries(text: str, max_bytes: int, expected: str) -> None:
    result = truncate_utf8(text, max_bytes)
    assert result == expected
    assert len(result.encode("utf-8")) <= max_bytes


@pytest.mark.parametrize("size", range(3990, 4011))
def test_apple_description_fits_4000_bytes_for_every_cut_position(size: int) -> None:
    text = ("ї" * size)[:size]  # 2 bytes a letter: the limit falls inside and between characters
    result = apple_description(text + "x" * size)
    assert len(result.encode("utf-8")) <= 4000
    assert result.endswith("…")
    result.encode("utf-8").decode("utf-8")  # whole characters only


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("Україна\x00: тиждень\x01 5", "Україна: тиждень 5"),
        ("tab\tnew\nline\rkept", "tab\tnew\nline\rkept"),
        ("\x0b\x0c\x1b\x7f", "\x7f"),  # DEL is legal XML 1.0; VT, FF and ESC are not
        ("bad\ufffe\uffffend", "badend"),
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("emoji 🎙️ stays", "emoji 🎙️ stays"),
    ],
)
def test_xml_text_strips_only_xml_invalid_characters(dirty: str, clean: str) -> None:
    assert xml_text(dirty) == clean


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ex.com/%D1%83%D0%BA.mp3", "https://ex.com/%D1%83%D0%BA.mp3"),  # already encoded: untouched
        ("https://ex.com/україна.mp3", "https://ex.com/%D1%83%D0%BA%D1%80%D0%B0%D1%97%D0%BD%D0%B0.mp3"),
        (" https://ex.com/a?b=1&c=2 ", "https://ex.com/a?b=1&c=2"),
    ],
)
def test_xml_url_keeps_escapes_and_encodes_raw_unicode(url: str, expected: str) -> None:
    assert xml_url(url) == expected


@pytest.mark.parametrize(
    ("html", "must_contain", "must_not_contain"),
    [
        ("<p>Hi <script>alert(1)</script></p>", "<p>Hi </p>", "script"),
        ('<a href="javascript:alert(1)">x</a>', "<a", "javascript"),
        ('<p onclick="x()">Текст</p>', "<p>Текст</p>", "onclick"),
        ('<a href="https://ex.com/%D1%83">ok</a>', 'href="https://ex.com/%D1%83"', "<script"),
        ("<p>a\x01b</p>", "<p>ab</p>", "\x01"),
        ("<iframe src='https://evil'></iframe><ul><li>1</li></ul>", "<ul><li>1</li></ul>", "iframe"),
    ],
)
def test_sanitize_show_notes(html: str, must_contain: str, must_not_contain: str) -> None:
    cleaned = sanitize_show_notes(html)
    assert must_contain in cleaned
    assert must_not_contain not in cleaned
