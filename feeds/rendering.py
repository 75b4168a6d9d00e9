"""Built feed bytes, cached by fingerprint so a 2,000-episode feed is built once per change, not per request.

    rendered = rendered_feed(state, page=None)   # RenderedFeed(body, gzipped, etag, last_modified)

The key is the feed's fingerprint (feeds.selectors.feed_state): it changes when an episode goes live, is edited
or re-processed, so a scheduled episode appears at its time with nothing run by hand.

A rebuild after such a change reuses the serialised <item> of every episode whose feed data did not change
(feeds.items: this process's memo, then the FeedItem table every process shares): one new episode costs one
feedgen entry, not 2,000, and so does a worker's first render of the show.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import BaseCache, caches

from feeds.builder import assemble_feed
from feeds.items import items_xml
from feeds.mapping import FeedUnavailable, feed_sources
from feeds.selectors import FeedState

FORMAT_VERSION = 1
# Entries for fingerprints no request asks for any more simply age out.
CACHE_SECONDS = 24 * 3600
# Decoded copies of recently served feeds, per process (each ~5 MB for 2,000 fully tagged episodes).
DECODED_MAX_ENTRIES = 8
_decoded: dict[str, RenderedFeed] = {}
_decoded_lock = threading.Lock()


@dataclass(frozen=True)
class RenderedFeed:
    body: bytes
    gzipped: bytes
    etag: str  # weak: the plain and gzipped bodies are the same representation
    last_modified: datetime


def feed_cache() -> BaseCache:
    return caches["feeds" if "feeds" in settings.CACHES else "default"]


def _cache_key(state: FeedState, page: int | None) -> str:
    inputs = repr((FORMAT_VERSION, state.fingerprint, page, settings.PUBLIC_BASE_URL, settings.WEBSUB_HUB_URL))
    return f"feeds:xml:{state.show.pk}:{hashlib.sha256(inputs.encode()).hexdigest()[:40]}"


def rendered_feed(state: FeedState, *, page: int | None = None) -> RenderedFeed:
    """The feed of ``state.show`` (or one RFC 5005 page), built only when its inputs changed."""
    cache = feed_cache()
    key = _cache_key(state, page)
    # The cache pickles: fetching a 2,000-episode feed (~5 MB) unpickles it on every request. Keep the decoded
    # object here and only ask the cache whether the entry is still there (a clear or an eviction is obeyed).
    decoded = _decoded.get(key)
    if decoded is not None and cache.has_key(key):
        return decoded
    cached = cache.get(key)
    if isinstance(cached, RenderedFeed):
        _remember(key, cached)
        return cached
    with _cyclic_gc_paused():
        channel, rows, info, public = feed_sources(
            # Only the feed itself names the hub: it is the document pinged on every change. A ?page=N document
            # is never pinged (its items shift with every new episode), so it must not invite subscriptions.
            show=state.show, last_build_date=state.last_modified,
            hub_url=(settings.WEBSUB_HUB_URL or None) if page is None else None, page=page, live_count=state.live_count,
        )  # fmt: skip
        try:
            body = assemble_feed(channel, items_xml(rows, public), page=info)
        except ValueError as exc:  # feedgen refuses some inputs the models allow: say so instead of a 500
            raise FeedUnavailable(str(exc)) from exc
    rendered = RenderedFeed(
        body=body,
        gzipped=gzip.compress(body, compresslevel=6, mtime=0),
        etag=f'W/"{hashlib.sha256(body).hexdigest()[:32]}"',
        last_modified=state.last_modified,
    )
    cache.set(key, rendered, CACHE_SECONDS)
    _remember(key, rendered)
    return rendered


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a feed's ~40,000 short-lived, acyclic objects are made.

    Its collections, triggered by the allocations alone, took ~45 ms of a 2,000-episode render; reference counting
    still frees everything. Concurrent renders cannot leave it off: only the one that found it on turns it on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _remember(key: str, rendered: RenderedFeed) -> None:
    with _decoded_lock:  # gthread workers: another thread may be evicting too
        while len(_decoded) >= DECODED_MAX_ENTRIES:
            _decoded.pop(next(iter(_decoded)), None)  # the oldest: insertion order
        _decoded[key] = rendered
