"""The per-process feed cache: bounded by bytes, least recently used out first, one copy shared with rendering."""

from __future__ import annotations

import pickle
import time
import uuid
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client

from feeds import rendering
from feeds.feed_cache import FeedCache
from feeds.rendering import feed_cache
from feeds.selectors import feed_state
from tests.feeds.factories import live_episode

KB = 1024


def make(max_bytes: int, max_entries: int = 100) -> FeedCache:
    return FeedCache(f"test-{uuid.uuid4()}", {"OPTIONS": {"MAX_BYTES": max_bytes, "MAX_ENTRIES": max_entries}})


def blob(kb: int) -> bytes:
    return b"x" * (kb * KB - 40)  # about kb KiB once pickled


def test_bounded_by_bytes_evicting_the_least_recently_used() -> None:
    cache = make(10 * KB)
    for name in "abcd":
        cache.set(name, blob(3))
    assert [cache.has_key(name) for name in "abcd"] == [False, True, True, True]
    assert cache.held_bytes() <= 10 * KB
    cache.get("b")  # b is now the most recent; c the least
    cache.set("e", blob(3))
    assert [cache.has_key(name) for name in "bcde"] == [True, False, True, True]


def test_has_key_counts_as_a_use() -> None:
    """feeds.rendering asks has_key for the feed it serves from its decoded copy: the hot feed must stay."""
    cache = make(10 * KB)
    cache.set("hot", blob(3))
    for n in range(10):
        assert cache.has_key("hot")
        cache.set(f"cold-{n}", blob(3))
    assert cache.has_key("hot")


def test_entry_count_bound_too() -> None:
    cache = make(1024 * KB, max_entries=3)
    for n in range(5):
        cache.set(str(n), n)
    assert [cache.get(str(n)) for n in range(5)] == [None, None, 2, 3, 4]


def test_the_newest_entry_stays_even_above_the_budget() -> None:
    cache = make(10 * KB)
    cache.set("small", blob(2))
    cache.set("huge", blob(50))
    assert cache.get("huge") is not None and cache.get("small") is None
    assert cache.held_bytes() == len(pickle.dumps(blob(50), pickle.HIGHEST_PROTOCOL))


def test_values_are_shared_not_copied_and_expire() -> None:
    cache = make(100 * KB)
    value = (b"body", b"gz")
    cache.set("k", value, timeout=0.05)
    assert cache.get("k") is value
    assert cache.add("k", "other") is False
    time.sleep(0.06)
    assert cache.get("k") is None and cache.held_bytes() == 0
    assert cache.add("k", "other") is True
    cache.set("n", 1)
    assert cache.incr("n", 2) == 3
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")
    assert cache.touch("k", timeout=None) is True and cache.touch("gone") is False
    assert cache.delete("k") is True and cache.delete("k") is False
    assert cache.get("k", "default") == "default"
    cache.clear()
    assert cache.held_bytes() == 0 and not cache.has_key("n")


def test_settings_bound_the_feeds_cache(settings: Any) -> None:
    cache = caches["feeds"]
    assert isinstance(cache, FeedCache)
    assert cache._max_bytes == settings.FEED_CACHE_MAX_BYTES == 32 * 1024 * 1024


@pytest.mark.django_db
def test_rendering_and_the_cache_hold_one_copy(client: Client, show: Any) -> None:
    cache = feed_cache()
    assert isinstance(cache, FeedCache)
    cache.clear()
    rendering._decoded.clear()
    live_episode(show, 1)
    assert client.get(f"/feeds/{show.slug}.xml").status_code == 200
    state = feed_state(slug=show.slug)
    assert state is not None
    key = rendering._cache_key(state, None)
    assert cache.get(key) is rendering._decoded[key]
    assert cache.held_bytes() == len(pickle.dumps(rendering._decoded[key], pickle.HIGHEST_PROTOCOL))
