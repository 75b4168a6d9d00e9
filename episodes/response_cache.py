"""Anonymous public responses kept per web process, reused while their data's fingerprint is unchanged.

    @fingerprinted(lambda request, external_id: article_state(external_id=external_id))
    def view(request, external_id): ...

Every request still asks the database one cheap question (episodes.fingerprints: one query, no rows built), so a
publish, unpublish, edit, re-processing or a scheduled time passing shows in the very next response, from any
process, with nothing to purge. Responses carry a strong ETag (304 on ``If-None-Match``) and ``public, max-age``
bounded by the next scheduled publish among the response's items, so a CDN never keeps them past a change it can
foresee. Requests with credentials (``Authorization``) may see drafts: they are never cached here and are marked
``private, no-cache``.
"""

from __future__ import annotations

import functools
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from episodes.fingerprints import PublicState

MAX_AGE = 60
MAX_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class Entry:
    body: bytes
    content_type: str
    etag: str


class _Lru:
    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, str], Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Entry | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
            return entry

    def put(self, key: tuple[str, str], entry: Entry) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            # An older fingerprint of the same URL is never asked for again: drop it now.
            for stale in [k for k in self._items if k[0] == key[0]][:8]:
                self._bytes -= len(self._items.pop(stale).body)
            self._items[key] = entry
            self._bytes += len(entry.body)
            while self._items and (self._bytes > MAX_BYTES or len(self._items) > MAX_ENTRIES):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped.body)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


CACHE = _Lru()


def max_age(state: PublicState) -> int:
    """MAX_AGE, but never past the next scheduled publish among the response's items."""
    if state.next_change is None:
        return MAX_AGE
    seconds = (state.next_change - timezone.now()).total_seconds()
    return max(0, min(MAX_AGE, math.floor(seconds)))


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return "*" in candidates or etag in candidates


def public_response(request: HttpRequest, entry: Entry, state: PublicState) -> HttpResponseBase:
    """The cached body (or a 304) with the headers a CDN may act on."""
    response: HttpResponseBase
    if _matches(request, entry.etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(entry.body, content_type=entry.content_type)
    response["ETag"] = entry.etag
    response["Cache-Control"] = f"public, max-age={max_age(state)}"
    patch_vary_headers(response, ["Authorization"])
    return response


def is_anonymous(request: HttpRequest) -> bool:
    return not request.headers.get("Authorization")


def fingerprinted(state_of: Callable[..., PublicState | None]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve anonymous 200s from this process's cache while ``state_of(request, **kwargs)`` is unchanged."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if request.method not in {"GET", "HEAD"} or not is_anonymous(request):
                return view(request, *args, **kwargs)
            state = state_of(request, *args, **kwargs)
            if state is None:  # unknown or not live: the view answers (a 404) as always
                return view(request, *args, **kwargs)
            key = (f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}", state.fingerprint)
            entry = CACHE.get(key)
            if entry is None:
                response = view(request, *args, **kwargs)
                if response.status_code != 200 or response.streaming:
                    return response
                body = bytes(response.content)
                entry = Entry(body, response["Content-Type"], etag_of(body))
                CACHE.put(key, entry)
            return public_response(request, entry, state)

        return wrapper

    return decorate
