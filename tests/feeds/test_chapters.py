"""The Podcasting 2.0 JSON chapters document."""

from __future__ import annotations

import json

import pytest

from feeds.data import Chapter
from feeds.podcast_chapters import chapters_document, chapters_json


def test_document_shape_sorted_by_start_time() -> None:
    document = chapters_document(
        [
            Chapter(start_time=95.5, title="Інтерв'ю", url="https://news.example.com/interview"),
            Chapter(start_time=0, title="Вступ", img="https://cdn.example.com/intro.jpg"),
            Chapter(start_time=600.25, title="Реклама", toc=False),
        ]
    )
    assert document == {
        "version": "1.2.0",
        "chapters": [
            {"startTime": 0, "title": "Вступ", "img": "https://cdn.example.com/intro.jpg"},
            {"startTime": 95.5, "title": "Інтерв'ю", "url": "https://news.example.com/interview"},
            {"startTime": 600.25, "title": "Реклама", "toc": False},
        ],
    }


def test_json_is_utf8_and_round_trips() -> None:
    body = chapters_json([Chapter(start_time=1.0004, title="Україна\x01: тиждень 5")])
    assert "Україна".encode() in body  # readable UTF-8, not \\u escapes
    assert json.loads(body) == {
        "version": "1.2.0",
        "chapters": [{"startTime": 1, "title": "Україна: тиждень 5"}],
    }


def test_empty_list_gives_an_empty_document() -> None:
    assert chapters_document([]) == {"version": "1.2.0", "chapters": []}


@pytest.mark.parametrize("start", [-1.0, float("nan"), float("inf")])
def test_impossible_start_times_are_refused(start: float) -> None:
    with pytest.raises(ValueError):
        Chapter(start_time=start, title="x")
