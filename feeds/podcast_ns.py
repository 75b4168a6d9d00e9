"""A feedgen extension for the Podcasting 2.0 namespace (https://podcastindex.org/namespace/1.0).

    fg = FeedGenerator()
    fg.register_extension(PODCAST_EXTENSION, PodcastIndexExtension, PodcastIndexEntryExtension, atom=False)
    fg.podcastindex.guid = show.podcast_guid
    entry = fg.add_entry(order="append")
    entry.podcastindex.transcripts = episode.transcripts

Registered under the name "podcastindex" because feedgen's iTunes extension already owns "podcast"; the XML
prefix is still ``podcast:``, which parsers such as podcast-partytime match literally. The canonical namespace
URI is used (podcastparser only knows the older GitHub URL; see FACTS).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

from feeds.data import AlternateEnclosure, Funding, Person, Soundbite, Transcript
from feeds.formatting import number_attr, xml_text, xml_url
from feeds.podcast_chapters import CHAPTERS_MIME_TYPE

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
PODCAST_EXTENSION = "podcastindex"


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str | None) -> etree._Element:
    """Append a podcast: element, skipping attributes whose value is None."""
    element = etree.SubElement(parent, f"{{{PODCAST_NS}}}{tag}")
    for name, value in attrs.items():
        if value is not None:
            element.set(name, value)
    if text is not None:
        element.text = xml_text(text)
    return element


def _persons(parent: etree._Element, persons: Sequence[Person]) -> None:
    for person in persons:
        _el(
            parent,
            "person",
            person.name,
            role=xml_text(person.role),
            group=xml_text(person.group),
            href=xml_url(person.href) if person.href else None,
            img=xml_url(person.img) if person.img else None,
        )


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
            _el(
                item,
                "transcript",
                url=xml_url(transcript.url),
                type=xml_text(transcript.mime_type),
                language=xml_text(transcript.language) if transcript.language else None,
                rel=xml_text(transcript.rel) if transcript.rel else None,
            )
        if self.chapters_url:
            _el(item, "chapters", url=xml_url(self.chapters_url), type=CHAPTERS_MIME_TYPE)
        for soundbite in self.soundbites:
            _el(
                item,
                "soundbite",
                soundbite.title or None,
                startTime=number_attr(soundbite.start),
                duration=number_attr(soundbite.duration),
            )
        _persons(item, self.persons)
        for alternate in self.alternate_enclosures:
            _alternate_enclosure(item, alternate)
        return item


def _alternate_enclosure(item: etree._Element, alternate: AlternateEnclosure) -> None:
    element = _el(
        item,
        "alternateEnclosure",
        type=xml_text(alternate.mime_type),
        length=str(alternate.length) if alternate.length is not None else None,
        bitrate=number_attr(alternate.bitrate) if alternate.bitrate is not None else None,
        height=str(alternate.height) if alternate.height is not None else None,
        lang=xml_text(alternate.lang) if alternate.lang else None,
        title=xml_text(alternate.title) if alternate.title else None,
        codecs=xml_text(alternate.codecs) if alternate.codecs else None,
        default="true" if alternate.default else None,
    )
    for uri in alternate.sources:
        _el(element, "source", uri=xml_url(uri))
    if alternate.integrity is not None:
        _el(element, "integrity", type=alternate.integrity.type, value=xml_text(alternate.integrity.value))
