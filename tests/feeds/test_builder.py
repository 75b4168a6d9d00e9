"""build_feed output read back as XML: channel and item tags, Apple's requirements, paging, robustness."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest
from lxml import etree

from feeds.builder import build_feed
from feeds.data import PageInfo, is_apple_category
from tests.feeds.conftest import UA_SLUG, make_episode, make_show

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "fh": "http://purl.org/syndication/history/1.0",
}
APPLE_ENCLOSURE_TYPES = {
    "audio/x-m4a",
    "audio/mpeg",
    "video/quicktime",
    "video/mp4",
    "video/x-m4v",
    "application/pdf",
}


def parse(xml: bytes) -> etree._Element:
    root = etree.fromstring(xml)
    assert root.tag == "rss" and root.get("version") == "2.0"
    return root.find("channel")


@pytest.fixture(scope="module")
def channel() -> etree._Element:
    return parse(build_feed(make_show(), [make_episode(1), make_episode(2)]))


def test_declares_the_four_podcast_namespaces_with_canonical_uris() -> None:
    root = etree.fromstring(build_feed(make_show(), [make_episode()]))
    for prefix in ("itunes", "podcast", "atom", "content"):
        assert root.nsmap[prefix] == NS[prefix]


def test_channel_core_tags(channel: etree._Element) -> None:
    assert channel.findtext("title") == "Україна: тиждень 5"
    assert channel.findtext("link") == f"https://news.example.com/podcasts/{UA_SLUG}"  # the website, not self
    assert channel.findtext("language") == "uk"
    assert channel.findtext("copyright") == "© 2024 News Example"
    assert channel.findtext("generator") == "Media Hub"
    assert channel.findall("lastBuildDate") and len(channel.findall("lastBuildDate")) == 1
    assert parsedate_to_datetime(channel.findtext("lastBuildDate")) == make_show().last_build_date


def test_channel_atom_links(channel: etree._Element) -> None:
    links = {link.get("rel"): link for link in channel.findall("atom:link", NS)}
    assert links["self"].get("href") == "https://news.example.com/podcasts/ukraine-week/feed.xml"
    assert links["self"].get("type") == "application/rss+xml"
    assert links["hub"].get("href") == "https://pubsubhubbub.appspot.com/"
    assert channel.find("fh:complete", NS) is not None  # no page: the document holds every episode


def test_channel_itunes_tags(channel: etree._Element) -> None:
    assert channel.find("itunes:image", NS).get("href") == "https://cdn.example.com/covers/ukraine-week.jpg"
    assert [e.text for e in channel.findall("itunes:explicit", NS)] == ["false"]
    assert channel.findtext("itunes:author", namespaces=NS) == "Редакція News Example"
    assert channel.findtext("itunes:owner/itunes:name", namespaces=NS) == "News Example"
    assert channel.findtext("itunes:owner/itunes:email", namespaces=NS) == "podcasts@news.example.com"
    assert channel.findtext("itunes:type", namespaces=NS) == "episodic"
    assert channel.find("itunes:new-feed-url", NS) is None
    tree = {
        c.get("text"): [s.get("text") for s in c.findall("itunes:category", NS)]
        for c in channel.findall("itunes:category", NS)
    }
    assert tree == {"News": ["Daily News", "Politics"], "Society & Culture": []}


def test_channel_podcast_namespace_tags(channel: etree._Element) -> None:
    assert channel.findtext("podcast:guid", namespaces=NS) == "c3f1c7a2-6f0e-5b5e-9d7a-0a1b2c3d4e5f"
    locked = channel.find("podcast:locked", NS)
    assert (locked.text, locked.get("owner")) == ("yes", "podcasts@news.example.com")
    funding = channel.find("podcast:funding", NS)
    assert (funding.get("url"), funding.text) == ("https://news.example.com/support", "Підтримайте редакцію")
    person = channel.find("podcast:person", NS)
    assert (person.text, person.get("role"), person.get("group"), person.get("href")) == (
        "Олена Петренко",
        "Host",  # the Podcast Taxonomy's spelling, whatever the case stored
        "Cast",
        "https://news.example.com/olena",
    )
    assert channel.findtext("podcast:medium", namespaces=NS) == "podcast"


def test_item_core_tags(channel: etree._Element) -> None:
    item = channel.find("item")
    episode = make_episode(1)
    assert item.findtext("title") == "Тиждень 1: що змінилося"
    assert item.findtext("description") == "Коротко про головне, випуск 1."
    guid = item.find("guid")
    assert (guid.text, guid.get("isPermaLink")) == (episode.guid, "false")
    assert parsedate_to_datetime(item.findtext("pubDate")) == episode.pub_date
    enclosure = item.find("enclosure")
    assert enclosure.attrib == {"url": episode.enclosure_url, "length": "10000001", "type": "audio/mpeg"}
    notes = item.findtext("content:encoded", namespaces=NS)
    assert notes.startswith("<p>Нотатки до випуску 1.") and 'href="https://news.example.com/1"' in notes


def test_item_itunes_tags(channel: etree._Element) -> None:
    item = channel.find("item")
    assert item.findtext("itunes:duration", namespaces=NS) == "1800"  # 1799.6 s rounded to whole seconds
    assert item.findtext("itunes:episode", namespaces=NS) == "1"
    assert item.findtext("itunes:season", namespaces=NS) == "1"
    assert item.findtext("itunes:episodeType", namespaces=NS) == "full"
    assert [e.text for e in item.findall("itunes:explicit", NS)] == ["false"]
    assert item.find("itunes:image", NS).get("href") == "https://cdn.example.com/ukraine-week/1/cover.png"


def test_item_podcast_namespace_tags(channel: etree._Element) -> None:
    item = channel.find("item")
    transcripts = [(t.get("type"), t.get("language"), t.get("rel")) for t in item.findall("podcast:transcript", NS)]
    assert transcripts == [
        ("text/vtt", "uk", "captions"),
        ("application/x-subrip", "uk", None),
        ("application/json", "uk", None),
    ]
    chapters = item.find("podcast:chapters", NS)
    assert chapters.get("type") == "application/json+chapters" and chapters.get("url").endswith(".chapters.json")
    soundbite = item.find("podcast:soundbite", NS)
    assert (soundbite.get("startTime"), soundbite.get("duration"), soundbite.text) == (
        "73.5",
        "45",
        "Головна цитата",
    )
    assert item.find("podcast:person", NS).get("role") == "Guest"
    first, second = item.findall("podcast:alternateEnclosure", NS)
    assert first.attrib == {
        "type": "audio/mp4",
        "length": "8000000",
        "bitrate": "96000",
        "title": "AAC",
        "codecs": "mp4a.40.2",
        "default": "true",
    }
    assert first.find("podcast:source", NS).get("uri").endswith(".m4a")
    assert first.find("podcast:integrity", NS).attrib == {"type": "sri", "value": "sha384-AbCdEf0123456789"}
    assert "default" not in second.attrib and second.find("podcast:integrity", NS) is None


def test_apple_podcasts_requirements(channel: etree._Element) -> None:
    """Apple's required tags (Podcasts Connect RSS guide): checked on the whole document."""
    assert channel.findtext("title") and channel.findtext("description")
    assert len(channel.findtext("description").encode()) <= 4000
    assert channel.findtext("language")
    assert channel.find("itunes:image", NS).get("href").startswith("https://")
    assert channel.findtext("itunes:explicit", namespaces=NS) in {"true", "false"}
    categories = channel.findall("itunes:category", NS)
    assert categories
    for category in categories:
        assert is_apple_category(category.get("text"))
        for sub in category.findall("itunes:category", NS):
            assert is_apple_category(category.get("text"), sub.get("text"))
    assert channel.findtext("itunes:owner/itunes:email", namespaces=NS)
    items = channel.findall("item")
    assert items
    for item in items:
        assert item.findtext("title")
        enclosure = item.find("enclosure")
        assert enclosure.get("url").startswith("https://")
        assert int(enclosure.get("length")) > 0
        assert enclosure.get("type") in APPLE_ENCLOSURE_TYPES
        assert item.findtext("guid")
        assert item.findtext("itunes:explicit", namespaces=NS) in {"true", "false"}
    assert len({item.findtext("guid") for item in items}) == len(items)
    assert len({item.find("enclosure").get("url") for item in items}) == len(items)


def test_explicit_true_on_show_and_episode() -> None:
    channel = parse(build_feed(make_show(explicit=True), [make_episode(explicit=True)]))
    assert channel.findtext("itunes:explicit", namespaces=NS) == "true"
    assert channel.find("item").findtext("itunes:explicit", namespaces=NS) == "true"


def test_guid_is_exactly_what_was_passed() -> None:
    guids = [
        "https://news.example.com/?p=123",
        "legacy-ЛЕГАСІ-42",
        "urn:uuid:4c0e6a12-3b4f-4f4d-8f7f-1c2d3e4f5a6b",
    ]
    channel = parse(build_feed(make_show(), [make_episode(i + 1, guid=g) for i, g in enumerate(guids)]))
    assert [item.findtext("guid") for item in channel.findall("item")] == guids
    assert {item.find("guid").get("isPermaLink") for item in channel.findall("item")} == {"false"}


def test_items_keep_the_given_order() -> None:
    episodes = [make_episode(n) for n in (3, 1, 2)]
    channel = parse(build_feed(make_show(), episodes))
    assert [item.findtext("guid") for item in channel.findall("item")] == [e.guid for e in episodes]


def test_control_characters_are_stripped_everywhere() -> None:
    show = make_show(title="Тиждень\x00 5\x1b", description="Опис\x07", author="Ред\x01акція")
    episode = make_episode(
        title="Випуск\x0b 1", summary="Текст\x02", content_html="<p>Нота\x03тки</p>", guid="id\x04-1"
    )
    xml = build_feed(show, [episode])
    channel = parse(xml)  # lxml refuses to parse invalid characters, so parsing is the test
    assert channel.findtext("title") == "Тиждень 5"
    assert channel.findtext("itunes:author", namespaces=NS) == "Редакція"
    item = channel.find("item")
    texts = (item.findtext("title"), item.findtext("description"), item.findtext("guid"))
    assert texts == ("Випуск 1", "Текст", "id-1")
    assert item.findtext("content:encoded", namespaces=NS) == "<p>Нотатки</p>"


def test_unicode_and_percent_encoded_urls_survive_as_utf8() -> None:
    xml = build_feed(make_show(), [make_episode(link="https://news.example.com/подкаст/тиждень-5")])
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert "Україна: тиждень 5".encode() in xml  # real UTF-8, not character references
    channel = parse(xml)
    item = channel.find("item")
    assert UA_SLUG in item.find("enclosure").get("url")
    assert item.findtext("link") == (
        "https://news.example.com/%D0%BF%D0%BE%D0%B4%D0%BA%D0%B0%D1%81%D1%82/"
        "%D1%82%D0%B8%D0%B6%D0%B4%D0%B5%D0%BD%D1%8C-5"
    )


def test_long_ukrainian_description_is_cut_to_4000_bytes() -> None:
    channel = parse(build_feed(make_show(description="Україна — " * 1000), [make_episode()]))
    description = channel.findtext("description")
    assert len(description.encode("utf-8")) <= 4000 and description.endswith("…")


def test_new_feed_url_and_serial_type_and_unlocked() -> None:
    show = make_show(
        new_feed_url="https://new.example.com/feed.xml",
        show_type="serial",
        locked=False,
        locked_owner="x@y.z",
    )
    channel = parse(build_feed(show, [make_episode()]))
    assert channel.findtext("itunes:new-feed-url", namespaces=NS) == "https://new.example.com/feed.xml"
    assert channel.findtext("itunes:type", namespaces=NS) == "serial"
    locked = channel.find("podcast:locked", NS)
    assert (locked.text, locked.get("owner")) == ("no", "x@y.z")


def test_minimal_episode_emits_no_optional_tags() -> None:
    bare = make_episode(
        duration=None, link=None, episode=None, season=None, image_url=None, transcripts=(),
        chapters_url=None, soundbites=(), persons=(), alternate_enclosures=(), content_html="",
    )  # fmt: skip
    item = parse(build_feed(make_show(hub_url=None), [bare])).find("item")
    absent_tags = (
        "itunes:duration", "itunes:episode", "itunes:season", "itunes:image", "content:encoded",
        "podcast:transcript", "podcast:chapters", "podcast:soundbite", "podcast:alternateEnclosure",
    )  # fmt: skip
    for absent in absent_tags:
        assert item.find(absent, NS) is None, absent
    assert item.find("link") is None


def test_paged_feed_links_and_no_complete_marker() -> None:
    page = PageInfo(
        first="https://ex.com/feed.xml",
        last="https://ex.com/feed.xml?page=4",
        next="https://ex.com/feed.xml?page=3",
        previous="https://ex.com/feed.xml?page=1",
    )
    channel = parse(build_feed(make_show(hub_url=None), [make_episode()], page=page))
    links = {link.get("rel"): link.get("href") for link in channel.findall("atom:link", NS)}
    assert links == {
        "self": "https://news.example.com/podcasts/ukraine-week/feed.xml",
        "first": page.first,
        "last": page.last,
        "next": page.next,
        "previous": page.previous,
    }
    assert channel.find("fh:complete", NS) is None and channel.find("fh:archive", NS) is None


def test_page_url_becomes_the_self_link() -> None:
    page = PageInfo(first="https://ex.com/f", last="https://ex.com/f?page=3", url="https://ex.com/f?page=2")
    channel = parse(build_feed(make_show(), [make_episode()], page=page))
    links = {link.get("rel"): link.get("href") for link in channel.findall("atom:link", NS)}
    assert links["self"] == "https://ex.com/f?page=2"


def test_show_without_episodes_is_still_a_valid_feed() -> None:
    channel = parse(build_feed(make_show(), []))
    assert channel.findall("item") == [] and channel.findtext("title") == "Україна: тиждень 5"


def test_first_page_has_no_previous_link() -> None:
    page = PageInfo(first="https://ex.com/f", last="https://ex.com/f?page=9", next="https://ex.com/f?page=2")
    channel = parse(build_feed(make_show(), [make_episode()], page=page))
    rels = [link.get("rel") for link in channel.findall("atom:link", NS)]
    assert sorted(rels) == ["first", "hub", "last", "next", "self"]


def test_same_input_gives_the_same_bytes() -> None:
    episodes = [make_episode(n) for n in range(1, 4)]
    assert build_feed(make_show(), episodes) == build_feed(make_show(), episodes)


def test_2000_episodes_build() -> None:
    xml = build_feed(make_show(), [make_episode(n) for n in range(1, 2001)])
    channel = parse(xml)
    assert len(channel.findall("item")) == 2000
    assert len({item.findtext("guid") for item in channel.findall("item")}) == 2000


def test_a_show_without_artwork_gets_no_empty_image_tags() -> None:
    channel = parse(build_feed(make_show(image_url=""), [make_episode()]))
    assert channel.find("image") is None
    assert channel.find("itunes:image", NS) is None
