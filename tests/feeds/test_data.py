"""Input dataclasses refuse data that would make an invalid or misleading feed."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from episodes.categories import APPLE_CATEGORIES, parse_category
from feeds.data import AlternateEnclosure, Soundbite, is_apple_category
from tests.feeds.conftest import make_episode, make_show

NAIVE = datetime(2024, 3, 1, 9, 0)  # noqa: DTZ001 - refusing naive datetimes is what is tested


@pytest.mark.parametrize(
    "overrides",
    [
        {"last_build_date": NAIVE},
        {"title": " "},
        {"description": ""},
        {"categories": ()},
        {"categories": (("News", "Gossip"),)},
        {"categories": (("Новини", None),)},
        {"show_type": "weekly"},
        {"medium": "radio"},
    ],
)
def test_show_refuses(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_show(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"pub_date": NAIVE},
        {"guid": "  "},
        {"enclosure_length": -1},
        {"duration": -5.0},
        {"duration": float("nan")},
        {"episode_type": "teaser"},
        {"episode": 0},
        {"season": -1},
    ],
)
def test_episode_refuses(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_episode(**overrides)


def test_nested_values_refuse_impossible_data() -> None:
    with pytest.raises(ValueError):
        Soundbite(start=-1, duration=10)
    with pytest.raises(ValueError):
        AlternateEnclosure(mime_type="audio/mp4", sources=())


def test_dataclasses_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_episode().title = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("category", "sub", "ok"),
    [("News", None, True), ("News", "Daily News", True), ("TV & Film", "After Shows", True),
     ("Technology", "Tech News", False), ("News", "Politics ", False), ("Politics", None, False)],
)  # fmt: skip
def test_apple_category_lookup(category: str, sub: str | None, ok: bool) -> None:
    assert is_apple_category(category, sub) is ok


def test_every_category_the_models_accept_is_accepted_by_the_feed() -> None:
    """The models validate with episodes.categories; the feed must never refuse what they let through."""
    for category, subcategories in APPLE_CATEGORIES.items():
        for sub in (None, *subcategories):
            assert parse_category([category, sub]) == (category, sub)
            make_show(categories=((category, sub),))
