"""The podcast RSS feed as a pure function of data: FeedShow + FeedEpisodes in, UTF-8 XML bytes out.

    xml = build_feed(show, episodes)                          # the full feed, marked <fh:complete/>
    xml = build_feed(show, newest_50, page=PageInfo(first=…, last=…, next=…))   # one RFC 5005 page

Episodes are written in the order given (callers pass newest first). No database, no settings, no clock:
the same input always gives the same bytes. RSS 2.0 core, itunes:, content: and atom:self come from feedgen;
podcast: tags from feeds.podcast_ns; the tags feedgen gets wrong (itunes:explicit, itunes:image, dates) and
atom hub/paging links and fh: from feeds.rss_extras.
"""

from __future__ import annotations

from collections.abc import Sequence

from feedgen.feed import FeedGenerator

from feeds.data import FeedEpisode, FeedShow, PageInfo
from feeds.formatting import (
    apple_description,
    sanitize_show_notes,
    whole_seconds,
    xml_text,
    xml_url,
)
from feeds.podcast_ns import PODCAST_EXTENSION, PodcastIndexEntryExtension, PodcastIndexExtension
from feeds.rss_extras import EXTRAS_EXTENSION, ExtrasEntryExtension, ExtrasExtension

GENERATOR = "Media Hub"
RSS_MIME_TYPE = "application/rss+xml"


def build_feed(show: FeedShow, episodes: Sequence[FeedEpisode], *, page: PageInfo | None = None) -> bytes:
    """Render the show and its episodes as podcast RSS 2.0.

    With ``page=None`` the document claims to hold every episode (RFC 5005 ``fh:complete``: a client may
    forget episodes missing from it), so pass all published episodes, or pass a ``PageInfo``.
    """
    fg = FeedGenerator()
    fg.load_extension("podcast")  # feedgen's iTunes extension
    fg.register_extension(PODCAST_EXTENSION, PodcastIndexExtension, PodcastIndexEntryExtension, atom=False)
    fg.register_extension(EXTRAS_EXTENSION, ExtrasExtension, ExtrasEntryExtension, atom=False)
    _channel(fg, show, page)
    for episode in episodes:
        _item(fg, episode)
    xml: bytes = fg.rss_str(pretty=False, encoding="UTF-8", xml_declaration=True)
    return xml


def _channel(fg: FeedGenerator, show: FeedShow, page: PageInfo | None) -> None:
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
    fg.podcast.itunes_category(
        [{"cat": cat, "sub": sub} if sub else {"cat": cat} for cat, sub in show.categories]
    )
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


def _item(fg: FeedGenerator, episode: FeedEpisode) -> None:
    entry = fg.add_entry(order="append")
    entry.guid(xml_text(episode.guid), permalink=False)
    entry.title(xml_text(episode.title).strip())
    entry.description(apple_description(episode.summary))
    notes = sanitize_show_notes(episode.content_html)
    if notes:
        # CDATA as Apple asks; sanitised HTML escapes ">" in text, so "]]>" cannot end the section early.
        entry.content(notes, type="CDATA" if "]]>" not in notes else None)
    if episode.link:
        entry.link(href=xml_url(episode.link))
    entry.enclosure(xml_url(episode.enclosure_url), str(episode.enclosure_length), episode.enclosure_type)

    if episode.duration is not None:
        entry.podcast.itunes_duration(whole_seconds(episode.duration))
    if episode.episode is not None:
        entry.podcast.itunes_episode(episode.episode)
    if episode.season is not None:
        entry.podcast.itunes_season(episode.season)
    entry.podcast.itunes_episode_type(episode.episode_type)

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
