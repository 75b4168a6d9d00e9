"""Apple Podcasts categories (Apple's list, as of the 2019 revision, still current).

``validate_categories([["News", "Daily News"], ["Society & Culture", None]])`` raises
``ValidationError`` naming the first unknown pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError

APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": (
        "Alternative Health",
        "Fitness",
        "Medicine",
        "Mental Health",
        "Nutrition",
        "Sexuality",
    ),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": (
        "Animation & Manga",
        "Automotive",
        "Aviation",
        "Crafts",
        "Games",
        "Hobbies",
        "Home & Garden",
        "Video Games",
    ),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": (
        "Business News",
        "Daily News",
        "Entertainment News",
        "News Commentary",
        "Politics",
        "Sports News",
        "Tech News",
    ),
    "Religion & Spirituality": (
        "Buddhism",
        "Christianity",
        "Hinduism",
        "Islam",
        "Judaism",
        "Religion",
        "Spirituality",
    ),
    "Science": (
        "Astronomy",
        "Chemistry",
        "Earth Sciences",
        "Life Sciences",
        "Mathematics",
        "Natural Sciences",
        "Nature",
        "Physics",
        "Social Sciences",
    ),
    "Society & Culture": ("Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships"),
    "Sports": (
        "Baseball",
        "Basketball",
        "Cricket",
        "Fantasy Sports",
        "Football",
        "Golf",
        "Hockey",
        "Rugby",
        "Running",
        "Soccer",
        "Swimming",
        "Tennis",
        "Volleyball",
        "Wilderness",
        "Wrestling",
    ),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}

CATEGORY_CHOICES: list[tuple[str, str]] = [
    (f"{top}/{sub}" if sub else top, f"{top} › {sub}" if sub else top)
    for top, subs in APPLE_CATEGORIES.items()
    for sub in (None, *subs)
]


def parse_category(value: str | Sequence[str | None]) -> tuple[str, str | None]:
    """Turn ``"News/Politics"`` or ``["News", "Politics"]`` into a checked (category, subcategory) pair."""
    if isinstance(value, str):
        head, _, tail = value.partition("/")
        pair: tuple[str, str | None] = (head.strip(), tail.strip() or None)
    elif isinstance(value, Sequence) and 1 <= len(value) <= 2 and all(v is None or isinstance(v, str) for v in value):
        top_v: str = str(value[0] or "")
        sub_v: str | None = value[1] if len(value) == 2 else None
        pair = (top_v.strip(), (sub_v or "").strip() or None)
    else:
        raise ValidationError(f"A category must be 'Category' or 'Category/Subcategory', not {value!r}.")
    top, sub = pair
    if top not in APPLE_CATEGORIES:
        raise ValidationError(f"“{top}” is not an Apple Podcasts category.", code="unknown_category")
    if sub is not None and sub not in APPLE_CATEGORIES[top]:
        raise ValidationError(f"“{sub}” is not a subcategory of “{top}” in Apple Podcasts.", code="unknown_category")
    return pair


def validate_categories(value: Any) -> None:
    """Reject anything but a list of 1–3 known Apple categories (Apple reads at most three)."""
    if not isinstance(value, list):
        raise ValidationError("Categories must be a list.")
    if len(value) > 3:
        raise ValidationError("Apple Podcasts uses at most three categories.")
    for item in value:
        parse_category(item)
