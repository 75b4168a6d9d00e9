"""A feedgen extension for the tags feedgen 1.0 gets wrong or lacks, outside the podcast: namespace.

    fg.register_extension(EXTRAS_EXTENSION, ExtrasExtension, atom=False)
    fg.mediahub.explicit = False           # <itunes:explicit>false</itunes:explicit>
    fg.mediahub.hub_url = "https://pubsubhubbub.appspot.com/"

- itunes:explicit: feedgen only writes yes/no/clean; Apple requires true/false.
- itunes:image: feedgen silently drops URLs not ending in .jpg/.png (query strings, .jpeg).
- pubDate/lastBuildDate: feedgen formats each date after setlocale(LC_ALL, "C"), a process-wide switch that
  races other threads (and costs time per item); feeds.formatting.rfc2822 does not touch the locale. feedgen
  still formats its own lastBuildDate once per feed; this extension overwrites the value.
- atom:link rel="hub" (WebSub) and RFC 5005 paging links: feedgen writes only rel="self" into RSS.
- fh:complete (RFC 5005 section 2) for a feed that lists every episode.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from feedgen.ext.base import BaseExtension
from lxml import etree

from feeds.data import FeedEpisode, PageInfo
from feeds.formatting import explicit_flag, number_attr, rfc2822, xml_text, xml_url

EXTRAS_EXTENSION = "mediahub"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005


def _itunes(parent: etree._Element, explicit: bool | None, image_url: str | None) -> None:
    if image_url:
        etree.SubElement(parent, f"{{{ITUNES_NS}}}image", href=xml_url(image_url))
    if explicit is not None:
        etree.SubElement(parent, f"{{{ITUNES_NS}}}explicit").text = explicit_flag(explicit)


class ExtrasExtension(BaseExtension):
    """Channel: itunes:image, itunes:explicit, lastBuildDate, atom hub and paging links, fh:complete."""

    def __init__(self) -> None:
        self.explicit: bool | None = None
        self.image_url: str | None = None
        self.last_build_date: datetime | None = None
        self.hub_url: str | None = None
        self.page: PageInfo | None = None
        self.complete: bool = False

    def extend_ns(self) -> dict[str, str]:
        namespaces = {"itunes": ITUNES_NS}
        if self.complete:
            namespaces["fh"] = FEED_HISTORY_NS
        return namespaces

    def extend_rss(self, rss_feed: etree._Element) -> etree._Element:
        channel = rss_feed[0]
        if self.last_build_date is not None:
            # feedgen always writes lastBuildDate (its own clock, unless told): overwrite it in place.
            element = channel.find("lastBuildDate")
            if element is None:
                element = etree.SubElement(channel, "lastBuildDate")
            element.text = rfc2822(self.last_build_date)
        _itunes(channel, self.explicit, self.image_url)
        if self.hub_url:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", rel="hub", href=xml_url(self.hub_url))
        if self.page is not None:
            # RFC 5005 section 3 names the backward relation "previous" (IANA also lists HTML's "prev").
            links = {
                "first": self.page.first,
                "last": self.page.last,
                "next": self.page.next,
                "previous": self.page.previous,
            }
            for rel, href in links.items():
                if href:
                    etree.SubElement(channel, f"{{{ATOM_NS}}}link", rel=rel, href=xml_url(href))
        if self.complete:
            etree.SubElement(channel, f"{{{FEED_HISTORY_NS}}}complete")
        return rss_feed


def item_tags(out: list[str], episode: FeedEpisode) -> None:
    """Append an item's pubDate, itunes:image and itunes:explicit to ``out`` as XML text."""
    out.append(f"<pubDate>{rfc2822_fast(episode.pub_date)}</pubDate>")
    if episode.image_url:
        out.append(f'<itunes:image href="{url_attr(episode.image_url)}"/>')
    out.append(f"<itunes:explicit>{explicit_flag(episode.explicit)}</itunes:explicit>")


# --- XML text for items written without lxml (feeds.builder): the escaping libxml2 applies when serialising ---

# Characters XML 1.0 forbids (as feeds.formatting.xml_text) or that libxml2 escapes in text / in attributes.
_INVALID = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_TEXT_CLEAN = re.compile(f"[^&<>\r{_INVALID}]*")
_ATTR_CLEAN = re.compile(f'[^&<>"\r\n\t{_INVALID}]*')
# feeds.formatting's URI-safe characters without "&" (the only one of them an attribute must escape).
_URL_PLAIN = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$'()*+,;=%]+")
_ATTR_SEEN: dict[str, str] = {}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UTC = timedelta(0)


def text(value: str) -> str:
    """Element text as libxml2 writes it: XML-invalid characters dropped, & < > and CR escaped."""
    if _TEXT_CLEAN.fullmatch(value):
        return value  # the common case: nothing to drop or escape
    value = xml_text(value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def attr(value: str) -> str:
    """A double-quoted attribute value as libxml2 writes it (also escapes ", tab, LF and CR)."""
    escaped = _ATTR_SEEN.get(value)  # MIME types, roles, codecs, languages: a few values, thousands of times
    if escaped is not None:
        return escaped
    escaped = value
    if not _ATTR_CLEAN.fullmatch(value):
        escaped = xml_text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        escaped = escaped.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if len(_ATTR_SEEN) < 4096:
        _ATTR_SEEN[value] = escaped
    return escaped


def number(value: float) -> str:
    """feeds.formatting.number_attr, with whole numbers (bitrates, most soundbite times) written directly."""
    as_float = float(value)  # ints arrive too (dataclass fields typed float are not converted)
    if as_float.is_integer() and abs(as_float) < 1e15:
        return str(int(as_float))
    return number_attr(value)


def url_attr(value: str) -> str:
    """A URL attribute: made feed-safe by feeds.formatting.xml_url, then escaped ("&" of query strings)."""
    if _URL_PLAIN.fullmatch(value):
        return value  # already what xml_url keeps as is, with nothing to escape: one regex instead of two
    return attr(xml_url(value))


def rfc2822_fast(moment: datetime) -> str:
    """feeds.formatting.rfc2822 (email.utils.format_datetime) without its timetuple/strftime cost per item."""
    offset = moment.utcoffset()
    if offset is None:
        return rfc2822(moment)  # raises: naive datetimes are refused
    zone = "+0000" if offset == _UTC else moment.strftime("%z")
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year:04d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {zone}"
    )
