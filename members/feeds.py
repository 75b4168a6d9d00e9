"""Members' private feeds: one shared template per show, the member's token spliced into its URLs per request.

    template = member_template(state)            # built once per change of the members' feed, for every member
    body = template.body_for(token)              # b"...<enclosure url=\"https://host/members/<token>/d/e/12/…"

The members' feed of a show is its public feed plus the member-only and early-access episodes, marked
``<itunes:block>yes</itunes:block>`` and ``<podcast:locked>yes</podcast:locked>``, with no WebSub hub link (it is
never announced) and no ``itunes:new-feed-url``. Its items come from the same item store as the public feed
(feeds.items: a public episode's <item> is the very same bytes), so 100,000 members cost one render, not 100,000.

The template is the document cut at every absolute URL of ours that a member must fetch with their token (media
under ``/d/``, the feed's own ``/feeds/`` links); ``body_for`` joins the pieces with ``…/members/<token>/``:
services.member_url applied to every URL at once, a single ``bytes.join``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings

from episodes.links import absolute
from feeds.builder import feed_generator, fill_channel
from feeds.items import items_xml
from feeds.mapping import FeedUnavailable, feed_show
from feeds.rendering import feed_cache
from feeds.selectors import FeedState, feed_rows, show_with_credits
from members.services import member_path_prefix

FORMAT_VERSION = 1
CACHE_SECONDS = 24 * 3600
_decoded: dict[str, MemberTemplate] = {}
_decoded_lock = threading.Lock()
DECODED_MAX_ENTRIES = 8


@dataclass(frozen=True)
class MemberTemplate:
    parts: tuple[bytes, ...]  # the document, cut where a member's token goes
    public: bytes  # PUBLIC_BASE_URL as bytes
    etag: str  # of the template; body_for's ETag adds the token
    last_modified: datetime
    size: int  # bytes of the parts

    def joiner(self, token: str) -> bytes:
        return self.public + member_path_prefix(token).encode() + b"/"

    def body_for(self, token: str) -> bytes:
        return self.joiner(token).join(self.parts)

    def etag_for(self, token: str) -> str:
        digest = hashlib.sha256(f"{self.etag}|{token}".encode()).hexdigest()[:32]
        return f'W/"{digest}"'


def _cut(body: bytes, public: str) -> tuple[bytes, ...]:
    """Cut ``body`` before every ``d/…`` and ``feeds/…`` path of ours, dropping ``{public}/`` there."""
    marker = re.escape(public.encode() + b"/") + b"(?=d/|feeds/)"
    return tuple(re.split(marker, body))


def assemble_member_feed(state: FeedState) -> bytes:
    """The members' feed document of ``state.show`` (a ``feed_state(members=True)``), with public URLs."""
    show = state.show
    channel = feed_show(show_with_credits(show=show), last_build_date=state.last_modified, hub_url=None)
    channel = replace(channel, locked=True, new_feed_url=None, hub_url=None)
    rows = feed_rows(show=show, members=True)
    items = items_xml(rows, absolute(""))
    fg = feed_generator()
    try:
        fill_channel(fg, channel, None)
        fg.podcast.itunes_block(True)  # private: never listed in Apple's directory
        head: bytes = fg.rss_str(pretty=False, encoding="UTF-8", xml_declaration=True)
    except ValueError as exc:
        raise FeedUnavailable(str(exc)) from exc
    end = head.rindex(b"</channel>")
    return b"".join((head[:end], *items, head[end:]))


def _key(state: FeedState) -> str:
    inputs = repr((FORMAT_VERSION, state.fingerprint, settings.PUBLIC_BASE_URL))
    return f"members:xml:{state.show.pk}:{hashlib.sha256(inputs.encode()).hexdigest()[:40]}"


def member_template(state: FeedState) -> MemberTemplate:
    """The members' feed template of ``state.show``, built only when the members' feed changed."""
    cache = feed_cache()
    key = _key(state)
    decoded = _decoded.get(key)
    if decoded is not None and cache.has_key(key):
        return decoded
    cached = cache.get(key)
    if isinstance(cached, MemberTemplate):
        _remember(key, cached)
        return cached
    public = settings.PUBLIC_BASE_URL
    body = assemble_member_feed(state)
    parts = _cut(body, public)
    template = MemberTemplate(
        parts=parts,
        public=public.encode(),
        etag=hashlib.sha256(body).hexdigest()[:32],
        last_modified=state.last_modified,
        size=len(body),
    )
    cache.set(key, template, CACHE_SECONDS)
    _remember(key, template)
    return template


def _remember(key: str, template: MemberTemplate) -> None:
    with _decoded_lock:
        while len(_decoded) >= DECODED_MAX_ENTRIES:
            _decoded.pop(next(iter(_decoded)), None)
        _decoded[key] = template
