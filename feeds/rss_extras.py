"""A feedgen extension for the tags feedgen 1.0 gets wrong or lacks, outside the podcast: namespace.

    fg.register_extension(EXTRAS_EXTENSION, ExtrasExtension, atom=False)
    fg.mediahub.explicit = False           # <itunes:explicit>false</itunes:explicit>
    fg.mediahub.hub_url = "https://pubsubhubbub.appspot.com/"

- itunes:explicit: feedgen only writes yes/no/clean; Apple requires true/false.
- itunes:image: feedgen silently drops URLs not ending in .jpg/.png (query strings, .jpeg).
- pubDate/lastBuildDate: feedgen formats each date after setlocale(LC_ALL, "C"), a process-wide switch that
  races other threads (and costs time per item); rfc2822_fast (below) does not touch the locale. feedgen
  still formats its own lastBuildDate once per feed; this extension overwrites the value.
- atom:link rel="hub" (WebSub) and RFC 5005 paging links: feedgen writes only rel="self" into RSS.
- fh:complete (RFC 5005 section 2) for a feed that lists every episode.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

from feeds.data import PageInfo
from feeds.formatting import explicit_flag, rfc2822, xml_url

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


class ExtrasEntryExtension(BaseEntryExtension):
    """Item: pubDate (without feedgen's setlocale), itunes:image (any URL), itunes:explicit as true/false."""

    def __init__(self) -> None:
        self.pub_date: datetime | None = None
        self.explicit: bool | None = None
        self.image_url: str | None = None

    def extend_rss(self, item: etree._Element) -> etree._Element:
        if self.pub_date is not None:
            etree.SubElement(item, "pubDate").text = rfc2822_fast(self.pub_date)
        _itunes(item, self.explicit, self.image_url)
        return item


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UTC = timedelta(0)


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
