"""A podcast RSS document → plain data, with no entity expansion, no DTD and no external anything.

    feed = parse_feed(xml_bytes)        # ParsedFeed(channel=ParsedChannel(...), items=[ParsedItem(...), ...])

defusedxml refuses DOCTYPEs (so no entity expansion, no XXE). GUIDs are kept exactly as written (no stripping, no
normalising). Durations in HH:MM:SS, MM:SS and seconds; pubDates in RFC 822 with the usual sloppiness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
PODCAST_NAMESPACES = (
    "{https://podcastindex.org/namespace/1.0}",
    "{https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md}",
)
PSC = "{http://podlove.org/simple-chapters}"
_ENCODING = re.compile(rb"^(<\?xml[^>]*encoding=[\"'])([A-Za-z0-9_.\-]+)([\"'])")


class FeedParseError(Exception):
    """Not a feed we can read (malformed, hostile, or not RSS)."""


@dataclass
class ParsedChannel:
    title: str = ""
    description: str = ""
    language: str = ""
    link: str = ""
    image_url: str = ""
    author: str = ""
    owner_name: str = ""
    owner_email: str = ""
    explicit: bool = False
    categories: list[list[str]] = field(default_factory=list)
    copyright: str = ""
    show_type: str = "episodic"
    funding: list[dict[str, str]] = field(default_factory=list)
    persons: list[dict[str, str]] = field(default_factory=list)
    new_feed_url: str = ""


@dataclass
class ParsedItem:
    guid: str
    title: str = ""
    pub_date: datetime | None = None
    summary: str = ""
    notes_html: str = ""
    season: int | None = None
    number: int | None = None
    episode_type: str = "full"
    explicit: bool = False
    duration: float | None = None
    enclosure_url: str = ""
    enclosure_length: int | None = None
    enclosure_type: str = ""
    chapters_url: str = ""
    inline_chapters: list[dict[str, Any]] = field(default_factory=list)
    transcripts: list[dict[str, str]] = field(default_factory=list)
    persons: list[dict[str, str]] = field(default_factory=list)
    image_url: str = ""


@dataclass
class ParsedFeed:
    channel: ParsedChannel
    items: list[ParsedItem]


def _text(element: Element | None) -> str:
    return (element.text or "") if element is not None else ""


def _podcast(parent: Element, name: str) -> list[Element]:
    return [el for ns in PODCAST_NAMESPACES for el in parent.findall(f"{ns}{name}")]


def parse_duration(value: str) -> float | None:
    """``01:02:03``, ``62:03``, ``3723`` or ``3723.5`` → seconds; None when unreadable."""
    value = value.strip()
    if not value:
        return None
    try:
        parts = [float(p) for p in value.split(":")]
    except ValueError:
        return None
    if len(parts) > 3 or any(p < 0 for p in parts):
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def parse_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _bool(value: str) -> bool:
    return value.strip().lower() in {"yes", "true", "explicit"}


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


def _persons(parent: Element) -> list[dict[str, str]]:
    return [
        {"name": _text(p).strip(), "role": p.get("role", "host" if parent.tag == "channel" else "guest").lower(),
         "group": p.get("group", "cast").lower(), "href": p.get("href", ""), "img": p.get("img", "")}
        for p in _podcast(parent, "person") if _text(p).strip()
    ]  # fmt: skip


def _decode(xml: bytes) -> Element:
    try:
        return fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise FeedParseError(f"Refused: {type(exc).__name__} (DTDs and entities are not allowed).") from exc
    except (ParseError, ValueError) as exc:  # ValueError: "multi-byte encodings are not supported"
        match = _ENCODING.match(xml.lstrip())
        if match is None or "encoding" not in str(exc).lower():
            raise FeedParseError(f"Not well-formed XML: {exc}") from exc
    # An encoding expat cannot read itself (multi-byte): decode with Python's codec and declare UTF-8.
    try:
        text = xml.lstrip().decode(match.group(2).decode())
    except (LookupError, UnicodeDecodeError) as exc:
        raise FeedParseError(f"Unreadable encoding: {exc}") from exc
    return _decode(_ENCODING.sub(rb"\g<1>UTF-8\g<3>", text.encode("utf-8"), count=1))


def parse_feed(xml: bytes) -> ParsedFeed:
    root = _decode(xml)
    channel_el = root.find("channel")
    if root.tag != "rss" or channel_el is None:
        raise FeedParseError("Not an RSS 2.0 feed (no <rss><channel>).")
    c = channel_el
    image = c.find(f"{ITUNES}image")
    owner = c.find(f"{ITUNES}owner")
    categories = []
    for cat in c.findall(f"{ITUNES}category"):
        sub = cat.find(f"{ITUNES}category")
        categories.append([cat.get("text", ""), sub.get("text", "")] if sub is not None else [cat.get("text", "")])
    channel = ParsedChannel(
        title=_text(c.find("title")).strip(),
        description=(_text(c.find("description")) or _text(c.find(f"{ITUNES}summary"))).strip(),
        language=_text(c.find("language")).strip()[:16],
        link=_text(c.find("link")).strip(),
        image_url=(image.get("href", "") if image is not None else "") or _text(c.find("image/url")).strip(),
        author=_text(c.find(f"{ITUNES}author")).strip(),
        owner_name=_text(owner.find(f"{ITUNES}name") if owner is not None else None).strip(),
        owner_email=_text(owner.find(f"{ITUNES}email") if owner is not None else None).strip(),
        explicit=_bool(_text(c.find(f"{ITUNES}explicit"))),
        categories=[cat for cat in categories if cat[0]],
        copyright=_text(c.find("copyright")).strip(),
        show_type="serial" if _text(c.find(f"{ITUNES}type")).strip().lower() == "serial" else "episodic",
        funding=[{"url": f.get("url", ""), "text": _text(f).strip()} for f in _podcast(c, "funding") if f.get("url")],
        persons=_persons(c),
        new_feed_url=_text(c.find(f"{ITUNES}new-feed-url")).strip(),
    )
    items = []
    for el in c.findall("item"):
        guid_el = el.find("guid")
        enclosure = el.find("enclosure")
        guid = _text(guid_el) or (enclosure.get("url", "") if enclosure is not None else "")
        length = _int(enclosure.get("length", "")) if enclosure is not None else None
        chapters = next(iter(_podcast(el, "chapters")), None)
        psc = el.find(f"{PSC}chapters")
        image_el = el.find(f"{ITUNES}image")
        items.append(ParsedItem(
            guid=guid,
            title=(_text(el.find("title")) or _text(el.find(f"{ITUNES}title"))).strip(),
            pub_date=parse_date(_text(el.find("pubDate"))),
            summary=(_text(el.find(f"{ITUNES}summary")) or _text(el.find(f"{ITUNES}subtitle"))).strip(),
            notes_html=_text(el.find(f"{CONTENT}encoded")) or _text(el.find("description")),
            season=_int(_text(el.find(f"{ITUNES}season"))),
            number=_int(_text(el.find(f"{ITUNES}episode"))),
            episode_type=t if (t := _text(el.find(f"{ITUNES}episodeType")).strip().lower()) in {"full", "trailer",
                                                                                                  "bonus"} else "full",
            explicit=_bool(_text(el.find(f"{ITUNES}explicit"))),
            duration=parse_duration(_text(el.find(f"{ITUNES}duration"))),
            enclosure_url=(enclosure.get("url", "") if enclosure is not None else "").strip(),
            enclosure_length=length,
            enclosure_type=enclosure.get("type", "") if enclosure is not None else "",
            chapters_url=chapters.get("url", "") if chapters is not None else "",
            inline_chapters=[
                {"start": s, "title": ch.get("title", "")}
                for ch in (psc.findall(f"{PSC}chapter") if psc is not None else [])
                if (s := parse_duration(ch.get("start", ""))) is not None
            ],
            transcripts=[{"url": t.get("url", ""), "type": t.get("type", ""), "language": t.get("language", "")}
                         for t in _podcast(el, "transcript") if t.get("url")],
            persons=_persons(el),
            image_url=image_el.get("href", "") if image_el is not None else "",
        ))  # fmt: skip
    return ParsedFeed(channel=channel, items=items)
