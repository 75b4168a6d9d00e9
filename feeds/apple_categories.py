"""Apple Podcasts categories and subcategories (podcasters.apple.com/support/1691).

    >>> is_apple_category("News", "Daily News")
    True

Names are the unescaped text Apple expects in ``<itunes:category text="…">``; lxml escapes ``&`` itself.
The model layer can offer these as choices so a feed never carries a category Apple would reject.
"""

from __future__ import annotations

from types import MappingProxyType

APPLE_CATEGORIES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "Arts": frozenset({"Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"}),
        "Business": frozenset(
            {"Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"}
        ),
        "Comedy": frozenset({"Comedy Interviews", "Improv", "Stand-Up"}),
        "Education": frozenset({"Courses", "How To", "Language Learning", "Self-Improvement"}),
        "Fiction": frozenset({"Comedy Fiction", "Drama", "Science Fiction"}),
        "Government": frozenset(),
        "History": frozenset(),
        "Health & Fitness": frozenset(
            {"Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition", "Sexuality"}
        ),
        "Kids & Family": frozenset({"Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"}),
        "Leisure": frozenset(
            {
                "Animation & Manga",
                "Automotive",
                "Aviation",
                "Crafts",
                "Games",
                "Hobbies",
                "Home & Garden",
                "Video Games",
            }
        ),
        "Music": frozenset({"Music Commentary", "Music History", "Music Interviews"}),
        "News": frozenset(
            {
                "Business News",
                "Daily News",
                "Entertainment News",
                "News Commentary",
                "Politics",
                "Sports News",
                "Tech News",
            }
        ),
        "Religion & Spirituality": frozenset(
            {"Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Religion", "Spirituality"}
        ),
        "Science": frozenset(
            {
                "Astronomy",
                "Chemistry",
                "Earth Sciences",
                "Life Sciences",
                "Mathematics",
                "Natural Sciences",
                "Nature",
                "Physics",
                "Social Sciences",
            }
        ),
        "Society & Culture": frozenset(
            {"Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships"}
        ),
        "Sports": frozenset(
            {
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
            }
        ),
        "Technology": frozenset(),
        "True Crime": frozenset(),
        "TV & Film": frozenset(
            {"After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"}
        ),
    }
)


def is_apple_category(category: str, subcategory: str | None = None) -> bool:
    """Tell whether (category, subcategory) is on Apple's list."""
    subcategories = APPLE_CATEGORIES.get(category)
    if subcategories is None:
        return False
    return subcategory is None or subcategory in subcategories
