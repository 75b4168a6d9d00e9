"""The podcast-partytime parser fixture, shared with the feed tests."""

from tests.feeds.conftest import partytime

__all__ = ["partytime"]
