"""A feedgen extension for the Podcasting 2.0 namespace (https://podcastindex.org/namespace/1.0).

    fg = FeedGenerator()
    fg.register_extension(PODCAST_EXTENSION, PodcastIndexExtension, atom=False)
    fg.podcastindex.guid = show.podcast_guid
    entry = fg.add_entry()
    entry.podcastindex.transcripts = episode.transcripts     # item tags: PodcastIndexEntryExtension

Registered under the name "podcastindex" because feedgen's iTunes extension already owns "podcast"; the XML
prefix is still ``podcast:``, which parsers such as podcast-partytime match literally. The canonical namespace
URI is used (podcastparser only knows the older GitHub URL; see FACTS).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

from episodes.taxonomy import CreditError, canonical_credit
from feeds.data import AlternateEnclosure, Funding, Person, Soundbite, Transcript
from feeds.formatting import number_attr, xml_text, xml_url
from feeds.podcast_chapters import CHAPTERS_MIME_TYPE

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
PODCAST_EXTENSION = "podcastindex"


def _tag(name: str) -> str:
    return f"{{{PODCAST_NS}}}{name}"


_TRANSCRIPT, _CHAPTERS, _SOUNDBITE, _PERSON = _tag("transcript"), _tag("chapters"), _tag("soundbite"), _tag("person")
_ALTERNATE, _SOURCE, _INTEGRITY = _tag("alternateEnclosure"), _tag("source"), _tag("integrity")


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str | None) -> etree._Element:
    """Append a podcast: element (``tag`` without namespace), skipping attributes whose value is None."""
    return _sub(parent, _tag(tag), text, {name: value for name, value in attrs.items() if value is not None})


def _sub(parent: etree._Element, tag: str, text: str | None, attrs: dict[str, str]) -> etree._Element:
    """Append ``tag`` with XML-safe ``attrs`` (in order) and text: one lxml call, the items' hot path."""
    element = etree.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = xml_text(text)
    return element


def _optional(attrs: dict[str, str], name: str, value: str | None, *, url: bool = False) -> dict[str, str]:
    if value:
        attrs[name] = xml_url(value) if url else xml_text(value)
    return attrs


def _credit(person: Person) -> tuple[str, str]:
    """The taxonomy's spelling ("Cast", "Cover Art Designer"); a pair stored before credits were checked, as is."""
    try:
        return canonical_credit(person.group, person.role)
    except CreditError:
        return person.group, person.role


def _persons(parent: etree._Element, persons: Sequence[Person]) -> None:
    for person in persons:
        group, role = _credit(person)
        attrs = {"role": xml_text(role), "group": xml_text(group)}
        _optional(attrs, "href", person.href, url=True)
        _sub(parent, _PERSON, person.name, _optional(attrs, "img", person.img, url=True))


class PodcastIndexExtension(BaseExtension):
    """Channel tags: guid, locked, funding, person, medium."""

    def __init__(self) -> None:
        self.guid: uuid.UUID | None = None
        self.locked: bool | None = None
        self.locked_owner: str | None = None
        self.funding: Sequence[Funding] = ()
        self.persons: Sequence[Person] = ()
        self.medium: str | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, rss_feed: etree._Element) -> etree._Element:
        channel = rss_feed[0]
        if self.guid is not None:
            _el(channel, "guid", str(self.guid))
        if self.locked is not None:
            owner = xml_text(self.locked_owner) if self.locked_owner else None
            _el(channel, "locked", "yes" if self.locked else "no", owner=owner)
        for funding in self.funding:
            _el(channel, "funding", funding.text, url=xml_url(funding.url))
        _persons(channel, self.persons)
        if self.medium:
            _el(channel, "medium", self.medium)
        return rss_feed


class PodcastIndexEntryExtension(BaseEntryExtension):
    """Item tags: transcript, chapters, soundbite, person, alternateEnclosure (with source and integrity)."""

    def __init__(self) -> None:
        self.transcripts: Sequence[Transcript] = ()
        self.chapters_url: str | None = None
        self.soundbites: Sequence[Soundbite] = ()
        self.persons: Sequence[Person] = ()
        self.alternate_enclosures: Sequence[AlternateEnclosure] = ()

    def extend_rss(self, item: etree._Element) -> etree._Element:
        for transcript in self.transcripts:
            attrs = {"url": xml_url(transcript.url), "type": xml_text(transcript.mime_type)}
            _optional(attrs, "language", transcript.language)
            _sub(item, _TRANSCRIPT, None, _optional(attrs, "rel", transcript.rel))
        if self.chapters_url:
            _sub(item, _CHAPTERS, None, {"url": xml_url(self.chapters_url), "type": CHAPTERS_MIME_TYPE})
        for soundbite in self.soundbites:
            times = {"startTime": number_attr(soundbite.start), "duration": number_attr(soundbite.duration)}
            _sub(item, _SOUNDBITE, soundbite.title or None, times)
        _persons(item, self.persons)
        for alternate in self.alternate_enclosures:
            _alternate_enclosure(item, alternate)
        return item


def _alternate_enclosure(item: etree._Element, alternate: AlternateEnclosure) -> None:
    attrs = {"type": xml_text(alternate.mime_type)}
    if alternate.length is not None:
        attrs["length"] = str(alternate.length)
    if alternate.bitrate is not None:
        attrs["bitrate"] = number_attr(alternate.bitrate)
    if alternate.height is not None:
        attrs["height"] = str(alternate.height)
    for name in ("lang", "title", "codecs"):
        _optional(attrs, name, getattr(alternate, name))
    if alternate.default:
        attrs["default"] = "true"
    element = _sub(item, _ALTERNATE, None, attrs)
    for uri in alternate.sources:
        _sub(element, _SOURCE, None, {"uri": xml_url(uri)})
    if alternate.integrity is not None:
        integrity = {"type": xml_text(alternate.integrity.type), "value": xml_text(alternate.integrity.value)}
        _sub(element, _INTEGRITY, None, integrity)
