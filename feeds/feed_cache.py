"""The per-process cache of built feeds: LocMem without pickling, bounded by bytes, least recently used out first.

    CACHES["feeds"] = {"BACKEND": "feeds.feed_cache.FeedCache", "LOCATION": "feeds",
                       "OPTIONS": {"MAX_BYTES": 32 * 1024**2, "MAX_ENTRIES": 256}}

Why not Django's LocMemCache: a 2,000-episode feed is ~4.7 MB (plain + gzipped XML), and LocMem bounds entries,
not bytes (64 entries could hold 300 MB per process); it keeps a pickled copy beside the decoded one that
feeds.rendering keeps (twice the memory); and ``has_key``, which is how rendering checks the feed it serves, does
not count as a use, so the hottest feed was the first one culled. Here values are stored as they are (they must
be immutable: rendering's RenderedFeed holds bytes only), so the cache and rendering share one copy; every
read, ``has_key`` included, makes an entry the most recent; and writes evict the least recently used entries
until both MAX_BYTES and MAX_ENTRIES hold. A value is sized once, when stored, by its pickled length. The
newest entry is always kept, even alone above MAX_BYTES (else the largest feed would be rebuilt on every request).
"""

from __future__ import annotations

import pickle
import threading
import time
from collections import OrderedDict
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
# One store per LOCATION, shared by the cache objects of all threads (as LocMemCache does).
_stores: dict[str, tuple[OrderedDict[str, Any], dict[str, float | None], dict[str, int], threading.Lock]] = {}
_stores_lock = threading.Lock()
_MISSING = object()


class FeedCache(BaseCache):
    """Thread-safe, per-process, byte-bounded LRU cache of immutable values (not pickled)."""

    pickle_protocol = pickle.HIGHEST_PROTOCOL

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        options = params.get("OPTIONS") or {}
        self._max_bytes = int(options.get("MAX_BYTES", DEFAULT_MAX_BYTES))
        with _stores_lock:
            if name not in _stores:
                _stores[name] = (OrderedDict(), {}, {}, threading.Lock())
        self._cache, self._expire_info, self._sizes, self._lock = _stores[name]

    # Most recently used first, as LocMemCache orders them; eviction pops from the end.
    def _use(self, key: str) -> None:
        self._cache.move_to_end(key, last=False)

    def _live(self, key: str) -> bool:
        """Whether ``key`` is stored and not expired (an expired entry is dropped)."""
        expiry = self._expire_info.get(key, -1.0)
        if expiry is not None and expiry <= time.time():
            self._delete(key)
            return False
        return True

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if not self._live(key):
                return default
            self._use(key)
            return self._cache[key]

    def has_key(self, key: str, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if not self._live(key):
                return False
            self._use(key)
            return True

    def set(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        key = self.make_and_validate_key(key, version=version)
        size = len(pickle.dumps(value, self.pickle_protocol))
        with self._lock:
            self._store(key, value, size, timeout)

    def add(self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        size = len(pickle.dumps(value, self.pickle_protocol))
        with self._lock:
            if self._live(key):
                return False
            self._store(key, value, size, timeout)
            return True

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if not self._live(key):
                raise ValueError(f"Key '{key}' not found")
            value = self._cache[key] + delta
            self._cache[key] = value
            self._use(key)
            return int(value)

    def _store(self, key: str, value: Any, size: int, timeout: float | None) -> None:
        self._delete(key)
        self._cache[key] = value
        self._sizes[key] = size
        self._expire_info[key] = self.get_backend_timeout(timeout)
        self._use(key)
        self._evict()

    def _evict(self) -> None:
        held = sum(self._sizes.values())
        while len(self._cache) > 1 and (held > self._max_bytes or len(self._cache) > self._max_entries):
            key, _ = self._cache.popitem()  # the least recently used
            self._expire_info.pop(key, None)
            held -= self._sizes.pop(key, 0)

    def touch(self, key: str, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if not self._live(key):
                return False
            self._expire_info[key] = self.get_backend_timeout(timeout)
            return True

    def delete(self, key: str, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            return self._delete(key)

    def _delete(self, key: str) -> bool:
        self._sizes.pop(key, None)
        self._expire_info.pop(key, None)
        return self._cache.pop(key, _MISSING) is not _MISSING

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._expire_info.clear()
            self._sizes.clear()

    def held_bytes(self) -> int:
        """Bytes of the stored values (their pickled size), for tests and monitoring."""
        with self._lock:
            return sum(self._sizes.values())
