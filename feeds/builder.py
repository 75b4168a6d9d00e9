"""The podcast RSS feed as a pure function of data: FeedShow + FeedEpisodes in, UTF-8 XML bytes out.

    xml = build_feed(show, episodes)                          # the full feed, marked <fh:complete/>
    xml = build_feed(show, newest_50, page=PageInfo(first=…, last=…, next=…))   # one RFC 5005 page

Episodes are written in the order given (callers pass newest first). No database, no settings, no clock:
the same input always gives the same bytes. The channel (RSS 2.0 core, itunes:, atom:self) comes from feedgen;
its podcast: tags from feeds.podcast_ns; the tags feedgen gets wrong (itunes:explicit, itunes:image, dates) and
atom hub/paging links and fh: from feeds.rss_extras. Items are feedgen entries (FeedEntry.rss_entry() with the
same extensions), each serialised on its own and spliced into the channel: the bytes feedgen's rss_str() gives.

A render of 2,000 items through feedgen + lxml costs ~0.3 s, so callers may pass ``items``, a memo from
FeedEpisode to its serialised <item>: an item is built again only when its data changed (the memo is exact:
FeedEpisode is a frozen dataclass, compared field by field)::

    memo: dict[FeedEpisode, bytes] = {}
    xml = build_feed(show, episodes, items=memo)              # builds and remembers every item
    xml = build_feed(show, [new_episode, *episodes], items=memo)  # builds one item, reuses 2,000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import nh3
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.data import FeedEpisode, FeedShow, PageInfo
from feeds.formatting import (
    SHOW_NOTES_ATTRIBUTES,
    SHOW_NOTES_TAGS,
    apple_description,
    whole_seconds,
    xml_text,
    xml_url,
)
from feeds.podcast_ns import PODCAST_EXTENSION, PODCAST_NS, PodcastIndexEntryExtension, PodcastIndexExtension
from feeds.rss_extras import EXTRAS_EXTENSION, ITUNES_NS, ExtrasEntryExtension, ExtrasExtension

GENERATOR = "Media Hub"
RSS_MIME_TYPE = "application/rss+xml"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
# The prefixes the channel declares on <rss> (feedgen's iTunes and content modules, our podcast: extension) for
# the namespaces items use: an item serialised under them needs no declarations of its own.
ITEM_NAMESPACES = {"itunes": ITUNES_NS, "content": CONTENT_NS, "podcast": PODCAST_NS}


class ItemMemo(Protocol):
    """Where serialised items are remembered: a dict, or feeds.items.ItemFragments (bounded, per process)."""

    def get(self, episode: FeedEpisode, /) -> bytes | None: ...

    def update(self, items: dict[FeedEpisode, bytes], /) -> None: ...


# feeds.formatting.sanitize_show_notes with one reusable cleaner: nh3.clean() builds its sanitiser on every call,
# half the cost of cleaning 2,000 items' notes. The same options; tests check both give the same HTML.
_NOTES_CLEANER = nh3.Cleaner(
    tags=set(SHOW_NOTES_TAGS),
    attributes={tag: set(attrs) for tag, attrs in SHOW_NOTES_ATTRIBUTES.items()},
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer",
)


def show_notes_html(html: str) -> str:
    """Sanitise show notes for content:encoded exactly as feeds.formatting.sanitize_show_notes does."""
    return _NOTES_CLEANER.clean(xml_text(html)).strip()


def feed_generator() -> FeedGenerator:
    """A FeedGenerator with the iTunes extension and ours registered (entries get the entry extensions)."""
    fg = FeedGenerator()
    fg.load_extension("podcast")  # feedgen's iTunes extension
    fg.register_extension(PODCAST_EXTENSION, PodcastIndexExtension, PodcastIndexEntryExtension, atom=False)
    fg.register_extension(EXTRAS_EXTENSION, ExtrasExtension, ExtrasEntryExtension, atom=False)
    return fg


def build_feed(
    show: FeedShow, episodes: Sequence[FeedEpisode], *, page: PageInfo | None = None, items: ItemMemo | None = None
) -> bytes:
    """Render the show and its episodes as podcast RSS 2.0.

    With ``page=None`` the document claims to hold every episode (RFC 5005 ``fh:complete``: a client may
    forget episodes missing from it), so pass all published episodes, or pass a ``PageInfo``. ``items`` is an
    optional memo of serialised items (see the module docstring); it never changes the bytes returned.
    """
    memo: ItemMemo = {} if items is None else items  # a throwaway dict: every item built
    cached = [memo.get(episode) for episode in episodes]
    missing = [episode for episode, xml in zip(episodes, cached, strict=True) if xml is None]
    built = dict(zip(missing, serialised_items(feed_generator(), missing), strict=True)) if missing else {}
    memo.update(built)
    items_xml = [built[episode] if xml is None else xml for episode, xml in zip(episodes, cached, strict=True)]
    return assemble_feed(show, items_xml, page=page)


def assemble_feed(show: FeedShow, items_xml: Sequence[bytes], *, page: PageInfo | None = None) -> bytes:
    """The feed document of ``show`` with these serialised items (serialised_items' output), in order."""
    fg = feed_generator()
    fill_channel(fg, show, page)
    head: bytes = fg.rss_str(pretty=False, encoding="UTF-8", xml_declaration=True)
    end = head.rindex(b"</channel>")  # items close the channel, as in feedgen's own document
    return b"".join((head[:end], *items_xml, head[end:]))


def serialised_items(fg: FeedGenerator, episodes: Sequence[FeedEpisode]) -> list[bytes]:
    """Each episode as feedgen writes its <item> inside a channel (``fg``: a feed_generator(), whose registered
    extensions its entries get; its channel data plays no part)."""
    # Under an <rss> declaring the channel's prefixes, lxml resolves the entry's namespaces to them when the
    # item is attached (as when feedgen appends it to its channel); serialised alone, the item repeats those
    # declarations on its start tag — <item xmlns:…> — which the document already has, so they are cut.
    holder = etree.Element("rss", nsmap=ITEM_NAMESPACES)
    out = []
    for episode in episodes:
        entry = fg.add_entry(order="append")  # with the entry extensions of fg's registered extensions
        fg.remove_entry(entry)  # serialised here, never by fg.rss_str()
        fill_entry(entry, episode)
        item = entry.rss_entry()
        holder.append(item)
        xml = etree.tostring(item, encoding="UTF-8")
        out.append(b"<item>" + xml[xml.index(b">") + 1 :])
        holder.remove(item)
    return out


def fill_entry(entry: FeedEntry, episode: FeedEpisode) -> None:
    """Set a feedgen entry (made by feed_generator().add_entry()) from the episode's feed data."""
    title = xml_text(episode.title).strip()
    if title:
        entry.title(title)
    if episode.link:
        entry.link(href=xml_url(episode.link))
    entry.description(apple_description(episode.summary) or None)
    notes = show_notes_html(episode.content_html)
    if notes:
        # CDATA as Apple asks; sanitised HTML escapes ">" in text, so "]]>" cannot end the section early.
        entry.content(notes, type="CDATA" if "]]>" not in notes else None)
    entry.guid(xml_text(episode.guid), permalink=False)
    entry.enclosure(xml_url(episode.enclosure_url), str(episode.enclosure_length), episode.enclosure_type)

    itunes = entry.podcast  # feedgen's iTunes entry extension
    if title:
        itunes.itunes_title(title)  # Apple shows itunes:title (without numbering) where it exists
    if episode.duration is not None:
        itunes.itunes_duration(whole_seconds(episode.duration))
    if episode.season:
        itunes.itunes_season(episode.season)
    if episode.episode:
        itunes.itunes_episode(episode.episode)
    itunes.itunes_episode_type(episode.episode_type)

    podcast: PodcastIndexEntryExtension = getattr(entry, PODCAST_EXTENSION)
    podcast.transcripts = episode.transcripts
    podcast.chapters_url = episode.chapters_url
    podcast.soundbites = episode.soundbites
    podcast.persons = episode.persons
    podcast.alternate_enclosures = episode.alternate_enclosures

    extras: ExtrasEntryExtension = getattr(entry, EXTRAS_EXTENSION)
    extras.pub_date = episode.pub_date
    extras.explicit = episode.explicit
    extras.image_url = episode.image_url


def fill_channel(fg: FeedGenerator, show: FeedShow, page: PageInfo | None) -> None:
    fg.title(xml_text(show.title).strip())
    fg.description(apple_description(show.description))
    # RSS <link> is whatever fg.link() set last, so rel="self" goes first and the website second.
    self_url = page.url if page is not None and page.url else show.feed_url
    fg.link(href=xml_url(self_url), rel="self", type=RSS_MIME_TYPE)
    fg.link(href=xml_url(show.link), rel="alternate")
    fg.language(xml_text(show.language))
    fg.generator(GENERATOR)
    if show.copyright:
        fg.copyright(xml_text(show.copyright))
    if show.image_url:  # an empty <image><url/> is invalid RSS; without artwork Apple lists nothing anyway
        fg.image(url=xml_url(show.image_url), title=xml_text(show.title).strip(), link=xml_url(show.link))

    fg.podcast.itunes_author(xml_text(show.author))
    if show.owner_name.strip() and show.owner_email.strip():  # feedgen refuses one without the other
        fg.podcast.itunes_owner(name=xml_text(show.owner_name), email=xml_text(show.owner_email))
    fg.podcast.itunes_category([{"cat": cat, "sub": sub} if sub else {"cat": cat} for cat, sub in show.categories])
    fg.podcast.itunes_type(show.show_type)
    if show.new_feed_url:
        fg.podcast.itunes_new_feed_url(xml_url(show.new_feed_url))

    podcast: PodcastIndexExtension = getattr(fg, PODCAST_EXTENSION)
    podcast.guid = show.podcast_guid
    podcast.locked = show.locked
    podcast.locked_owner = show.locked_owner or show.owner_email
    podcast.funding = show.funding
    podcast.persons = show.persons
    podcast.medium = show.medium

    extras: ExtrasExtension = getattr(fg, EXTRAS_EXTENSION)
    extras.explicit = show.explicit
    extras.image_url = show.image_url
    extras.last_build_date = show.last_build_date
    extras.hub_url = show.hub_url
    extras.page = page
    extras.complete = page is None
