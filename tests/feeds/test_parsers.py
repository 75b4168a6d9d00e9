"""The feed read back by real podcast parsers: feedparser, podcastparser and podcast-partytime (Node)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import feedparser
import podcastparser
from lxml import etree

from feeds.builder import build_feed
from tests.feeds.conftest import UA_SLUG, make_episode, make_show

EPISODES = [make_episode(n) for n in range(1, 6)]


def _xml() -> bytes:
    return build_feed(make_show(), EPISODES)


def test_feedparser_reads_channel_and_items() -> None:
    parsed = feedparser.parse(_xml())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.title == "Україна: тиждень 5"
    assert parsed.feed.link == f"https://news.example.com/podcasts/{UA_SLUG}"
    assert parsed.feed.language == "uk"
    assert parsed.feed.image.href == "https://cdn.example.com/covers/ukraine-week.jpg"
    # feedparser 6 knows only "yes"→True and "clean"→False; Apple's "true"/"false" both become None, so the
    # explicit flag is checked with partytime and in test_builder instead.
    assert parsed.feed.podcast_guid == "c3f1c7a2-6f0e-5b5e-9d7a-0a1b2c3d4e5f"
    assert len(parsed.entries) == len(EPISODES)
    for entry, episode in zip(parsed.entries, EPISODES, strict=True):
        assert entry.id == episode.guid
        assert entry.guidislink is False
        assert entry.title == entry.itunes_title == episode.title
        assert entry.link == episode.link  # the episode's public page
        assert entry.summary == episode.summary
        assert entry.itunes_duration == "1800"
        assert entry.itunes_episode == str(episode.episode)
        (enclosure,) = entry.enclosures
        assert (enclosure.href, int(enclosure.length), enclosure.type) == (
            episode.enclosure_url,
            episode.enclosure_length,
            "audio/mpeg",
        )
        assert entry.published_parsed[:6] == episode.pub_date.utctimetuple()[:6]
        assert entry.podcast_transcript["type"] == "application/json"  # feedparser keeps the last one
        assert entry.podcast_chapters["type"] == "application/json+chapters"
        assert entry.content[0].value.startswith("<p>Нотатки")


def test_podcastparser_reads_the_feed() -> None:
    parsed = podcastparser.parse("https://news.example.com/podcasts/ukraine-week/feed.xml", io.BytesIO(_xml()))
    assert parsed["title"] == "Україна: тиждень 5"
    assert parsed["cover_url"] == "https://cdn.example.com/covers/ukraine-week.jpg"
    assert parsed["type"] == "episodic"
    episodes = parsed["episodes"]
    assert len(episodes) == len(EPISODES)
    by_guid = {episode["guid"]: episode for episode in episodes}
    for source in EPISODES:
        episode = by_guid[source.guid]
        assert episode["title"] == source.title
        assert episode["link"] == source.link
        assert episode["total_time"] == 1800
        assert episode["published"] == int(source.pub_date.timestamp())
        assert episode["number"] == source.episode
        (enclosure,) = episode["enclosures"]
        assert (enclosure["url"], enclosure["file_size"], enclosure["mime_type"]) == (
            source.enclosure_url,
            source.enclosure_length,
            "audio/mpeg",
        )
        # podcastparser knows only the old GitHub namespace URI (FACTS): canonical podcast: tags are unseen.
        assert "transcript_url" not in episode and "chapters" not in episode


def _xml_item_count(xml: bytes) -> int:
    return len(etree.fromstring(xml).findall("channel/item"))


def test_partytime_keeps_every_item_and_recognises_our_podcast_tags(
    partytime: Callable[[bytes], dict[str, Any]],
) -> None:
    xml = _xml()
    feed = partytime(xml)
    # partytime drops invalid items silently: compare with the XML's own count.
    assert len(feed["items"]) == _xml_item_count(xml) == len(EPISODES)
    recognised = {tag for tags in feed["pc20support"].values() for tag in tags}
    emitted = {"guid", "locked", "funding", "person", "medium", "transcript", "chapters", "soundbite",
               "alternateEnclosure"}  # fmt: skip
    assert emitted <= recognised, emitted - recognised
    assert feed["guid"] == "c3f1c7a2-6f0e-5b5e-9d7a-0a1b2c3d4e5f"
    assert feed["locked"] is True and feed["podcastOwner"] == "podcasts@news.example.com"
    assert feed["medium"] == "podcast"
    assert feed["explicit"] is False
    assert feed["itunesCategory"] == ["News > Daily News", "News > Politics", "Society & Culture"]
    assert feed["pubsub"] == {
        "self": "https://news.example.com/podcasts/ukraine-week/feed.xml",
        "hub": "https://pubsubhubbub.appspot.com/",
    }


def test_partytime_reads_item_details(partytime: Callable[[bytes], dict[str, Any]]) -> None:
    item = partytime(_xml())["items"][0]
    episode = EPISODES[0]
    assert item["guid"] == episode.guid
    assert item["title"] == "Тиждень 1: що змінилося"
    assert item["link"] == episode.link
    assert item["duration"] == 1800
    assert item["explicit"] is False
    assert item["enclosure"] == {
        "url": episode.enclosure_url,
        "length": episode.enclosure_length,
        "type": "audio/mpeg",
    }
    # We write the spec's application/x-subrip; partytime reports its own canonical name for SRT.
    types = [t["type"] for t in item["podcastTranscripts"]]
    assert types == ["text/vtt", "application/srt", "application/json"]
    assert item["podcastTranscripts"][0]["rel"] == "captions"
    assert item["podcastChapters"]["url"] == episode.chapters_url
    assert item["podcastSoundbites"] == [{"startTime": 73.5, "duration": 45, "title": "Головна цитата"}]
    assert item["podcastPeople"][0]["name"] == "Гість Випуску"
    aac, opus = item["alternativeEnclosures"]
    assert aac["default"] is True and aac["codecs"] == "mp4a.40.2"
    assert aac["integrity"] == {"type": "sri", "value": "sha384-AbCdEf0123456789"}
    assert [s["uri"] for s in opus["source"]] == [f"{episode.enclosure_url[:-4]}.opus"]


def test_partytime_sees_explicit_true(partytime: Callable[[bytes], dict[str, Any]]) -> None:
    feed = partytime(build_feed(make_show(explicit=True), [make_episode(explicit=True)]))
    assert feed["explicit"] is True and feed["items"][0]["explicit"] is True


def test_partytime_on_a_2000_episode_feed(partytime: Callable[[bytes], dict[str, Any]]) -> None:
    xml = build_feed(make_show(), [make_episode(n) for n in range(1, 2001)])
    feed = partytime(xml)
    assert len(feed["items"]) == _xml_item_count(xml) == 2000
