"""Fixtures shared with the feed tests (podcast-partytime) and the import tests (a local feed server)."""

from tests.feeds.conftest import partytime
from tests.imports.conftest import feed_server

__all__ = ["feed_server", "partytime"]
