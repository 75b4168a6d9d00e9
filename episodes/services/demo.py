"""The run command's ``--demo``: a show to look at on a fresh install."""

from __future__ import annotations

from episodes.models import Show

from .content import show_create

DEMO_SLUG = "ukraine-insights"


def demo_seed() -> Show:
    """Create the demo show (once; running it again changes nothing)."""
    existing = Show.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return existing
    return show_create(
        title="Ukraine Insights",
        slug=DEMO_SLUG,
        description=(
            "A weekly look at the war, politics and everyday life in Ukraine, with our correspondents in Kyiv. "
            "Щотижневий огляд подій в Україні."
        ),
        language="en",
        categories=[["News", "Politics"], ["News", "Daily News"]],
        author="Media Hub Demo Newsroom",
        owner_name="Media Hub Demo Newsroom",
        owner_email="podcasts@example.com",
        copyright="© 2026 Media Hub Demo Newsroom",
        website_url="https://news.example.com/podcasts/ukraine-insights",
    )
