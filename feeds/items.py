"""A feed's <item>s from its rows, each built by feedgen only when what it is made from changed.

    xmls = items_xml(rows, public)     # one entry per row of rows.episodes, b"" for a row with no item

An item is a pure function of ``feeds.mapping.feed_episode``'s inputs for its episode (the episode row, its
renditions, transcripts and credits, its live video and that video's renditions, the public base URL) and of the
feed code itself. ``item_key`` digests exactly those, so an item stored under a key can be reused for as long as
the key comes out the same, without mapping the row: it is never stale, and no signal or hook has to invalidate it.

Where a built item is looked for, in order:
1. this process's memo (``ITEM_FRAGMENTS``, bounded by FEED_ITEM_MEMO_MAX_BYTES): the rebuild after a publish or
   an edit, in a worker that rendered the show before;
2. the FeedItem table, shared by every web process: a worker's first render of a show after it started, or after
   another worker built it;
3. built: mapped (feed_episode) and serialised (feeds.builder.serialised_items), then kept in both.

The beat prepares every show's items in the table ahead of requests (``items_prepare_all``, every few minutes),
so a listener's request builds only what changed since.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from episodes import links
from episodes.links import absolute
from episodes.models import Show, Status
from feeds import builder, data, formatting, mapping, podcast_ns, rss_extras
from feeds.builder import feed_generator, serialised_items
from feeds.mapping import feed_episode
from feeds.models import FeedItem
from feeds.selectors import FeedRows, feed_rows

log = logging.getLogger(__name__)

# Stored items are read and written this many episodes a query (well under every database's parameter limit).
STORE_CHUNK = 500


def _code_version() -> bytes:
    """The feed code's own version: the modules that turn rows into an item, and the libraries they call.

    A deploy that changes how items are written changes every key, so no item written by older code is reused.
    """
    digest = hashlib.blake2b(digest_size=16)
    for module in (builder, data, formatting, links, mapping, podcast_ns, rss_extras):
        digest.update(Path(str(module.__file__)).read_bytes())
    for package in ("feedgen", "lxml", "nh3"):
        digest.update(f"{package}={metadata.version(package)};".encode())
    return digest.digest()


CODE_VERSION = _code_version()


def item_key(row: tuple[Any, ...], rows: FeedRows, public: str) -> bytes:
    """A digest of everything the item of ``row`` (an EPISODE_COLUMNS row of ``rows``) is made from."""
    pk = row[0]
    video_id = rows.videos.get(pk)
    inputs = (
        CODE_VERSION,
        public,
        row,
        rows.renditions.get(pk),
        rows.transcripts.get(pk),
        rows.credits.get(pk),
        video_id,
        rows.video_renditions.get(video_id) if video_id is not None else None,
    )
    # Pickle writes equal values (str, int, float, bool, None, datetime, JSON lists and dicts) as equal bytes.
    return hashlib.blake2b(pickle.dumps(inputs, protocol=5), digest_size=20).digest()


class ItemFragments:
    """A process's memo of serialised items by key (an ``item_key``, or a FeedEpisode for feeds.builder's memo),
    least recently used dropped first once the items exceed ``max_bytes``. Thread-safe (gthread workers render
    concurrently)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, /) -> bytes | None:
        with self._lock:
            xml = self._items.get(key)
            if xml is not None:
                self._items.move_to_end(key)
            return xml

    def __setitem__(self, key: Hashable, xml: bytes) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes += len(xml) - (len(old) if old is not None else 0)
            self._items[key] = xml
            while self._bytes > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def update(self, items: dict[Any, bytes], /) -> None:
        for key, xml in items.items():
            self[key] = xml

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._bytes


# Serialised items kept per process (a 2,000-episode show's items are ~4.5 MB), bounded by a setting.
ITEM_FRAGMENTS = ItemFragments(settings.FEED_ITEM_MEMO_MAX_BYTES)


def _stored(ids: Sequence[int], *fields: str) -> Iterator[tuple[Any, ...]]:
    """(episode id, *fields) of the stored items of these episodes, STORE_CHUNK ids a query."""
    for start in range(0, len(ids), STORE_CHUNK):
        yield from FeedItem.objects.filter(episode_id__in=ids[start : start + STORE_CHUNK]).values_list(
            "episode_id", *fields
        )


def stored_items(keys: dict[int, bytes]) -> dict[int, bytes]:
    """The stored items of these episodes (id → key) whose key still matches."""
    return {pk: bytes(xml) for pk, key, xml in _stored(list(keys), "key", "xml") if bytes(key) == keys[pk]}


def store_items(items: dict[int, tuple[bytes, bytes]]) -> None:
    """Keep built items (id → (key, xml)) for every process. A failure is logged, never raised: the feed that
    was just built is still served, and the next render builds these items again."""
    rows = [FeedItem(episode_id=pk, key=key, xml=xml) for pk, (key, xml) in items.items()]
    try:
        with transaction.atomic():
            FeedItem.objects.bulk_create(
                rows, batch_size=STORE_CHUNK, update_conflicts=True, unique_fields=["episode"],
                update_fields=["key", "xml"],
            )  # fmt: skip
    except DatabaseError:
        log.warning("could not store built feed items", extra={"items": len(rows)}, exc_info=True)


def items_xml(rows: FeedRows, public: str, *, memo: ItemFragments | None = None) -> list[bytes]:
    """The serialised <item> of every row of ``rows.episodes``, in order; b"" where the row has no item
    (feed_episode gives None: no MP3 yet). ``memo`` defaults to ITEM_FRAGMENTS."""
    memo = ITEM_FRAGMENTS if memo is None else memo
    keys = {row[0]: item_key(row, rows, public) for row in rows.episodes}
    xmls = {pk: xml for pk, key in keys.items() if (xml := memo.get(key)) is not None}
    wanted = {pk: key for pk, key in keys.items() if pk not in xmls}
    if wanted:
        stored = stored_items(wanted)
        memo.update({keys[pk]: xml for pk, xml in stored.items()})
        xmls.update(stored)
    built = _build_and_store([row for row in rows.episodes if row[0] not in xmls], rows, public, keys)
    memo.update({keys[pk]: xml for pk, xml in built.items()})
    xmls.update(built)
    return [xmls[row[0]] for row in rows.episodes]


def _build_and_store(
    missing: Sequence[tuple[Any, ...]], rows: FeedRows, public: str, keys: dict[int, bytes]
) -> dict[int, bytes]:
    """Build the items of these rows (b"" where a row has no item) and store them under their keys."""
    if not missing:
        return {}
    built = dict.fromkeys((row[0] for row in missing), b"")
    episodes = {row[0]: feed_episode(row, rows, public) for row in missing}
    live = {pk: episode for pk, episode in episodes.items() if episode is not None}
    built.update(zip(live, serialised_items(feed_generator(), list(live.values())), strict=True))
    store_items({pk: (keys[pk], xml) for pk, xml in built.items()})
    return built


def items_prepare(*, show: Show) -> int:
    """Build and store the items of the show's live episodes that are not stored under their current key; returns
    how many. The beat runs it for every show (``items_prepare_all``), so that after a deploy that changed the feed
    code, or a bulk import, no listener's request is the one that builds 2,000 items. Reads keys, not items."""
    rows = feed_rows(show=show)
    public = absolute("")
    keys = {row[0]: item_key(row, rows, public) for row in rows.episodes}
    stored = {pk: bytes(key) for pk, key in _stored(list(keys), "key")}
    missing = [row for row in rows.episodes if stored.get(row[0]) != keys[row[0]]]
    _build_and_store(missing, rows, public, keys)
    return len(missing)


def items_prepare_all() -> int:
    """``items_prepare`` for every show with a live episode; how many items were built."""
    shows = Show.objects.filter(episodes__status=Status.PUBLISHED, episodes__publish_at__lte=timezone.now()).distinct()
    built = 0
    for show in shows.order_by("pk"):
        try:
            built += items_prepare(show=show)
        except Exception:  # one show's bad data must not keep the others' items from being prepared
            log.warning("could not prepare feed items", extra={"show_id": show.pk}, exc_info=True)
    return built
