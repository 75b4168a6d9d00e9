"""The feed served for real Episode rows, read back by feedparser, podcastparser and podcast-partytime."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import feedparser
import podcastparser
import pytest
from django.test import Client
from lxml import etree

from episodes.models import EpisodePerson, Person, Rendition
from episodes.services.content import show_update
from feeds.rendering import feed_cache
from tests.feeds.factories import add_rendition, add_transcript, live_episode, live_video

pytestmark = pytest.mark.django_db
URL = "/feeds/ukraine-insights.xml"


@pytest.fixture
def feed_xml(client: Client, show: Any, settings: Any) -> tuple[bytes, list[Any]]:
    feed_cache().clear()
    settings.WEBSUB_HUB_URL = "https://hub.example.com/"
    show_update(show=show, owner_name="News Example", owner_email="pod@example.com", language="uk")
    episodes = []
    for n in range(1, 4):
        episode = live_episode(
            show, n, number=n, season=1, show_notes=f"<p>Нотатки {n}</p>",
            chapters=[{"start": 0, "title": "Вступ"}], soundbites=[{"start": 5, "duration": 20, "title": "Цитата"}],
        )  # fmt: skip
        add_rendition(episode, "audio_aac", codecs="mp4a.40.2")
        add_rendition(episode, "audio_opus")
        add_transcript(episode, "vtt")
        add_transcript(episode, "srt")
        EpisodePerson.objects.create(episode=episode, person=Person.objects.create(name=f"Гість {n}"), role="guest")
        episodes.append(episode)
    live_video(show, episode=episodes[0])
    response = client.get(URL)
    assert response.status_code == 200
    return response.content, episodes


def test_feedparser(feed_xml: tuple[bytes, list[Any]]) -> None:
    xml, episodes = feed_xml
    parsed = feedparser.parse(xml)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Ukraine Insights" and parsed.feed.language == "uk"
    assert len(parsed.entries) == 3
    for entry, episode in zip(parsed.entries, episodes, strict=True):
        mp3 = Rendition.objects.get(episode=episode, kind="audio_mp3")
        assert entry.id == episode.guid and entry.title == episode.title
        (enclosure,) = entry.enclosures
        assert enclosure.href == f"http://127.0.0.1:8000/d/e/{episode.pk}/audio_mp3.mp3"
        assert int(enclosure.length) == mp3.byte_size and enclosure.type == "audio/mpeg"
        assert entry.itunes_duration == "10"
        assert entry.podcast_chapters["url"] == f"http://127.0.0.1:8000/d/e/{episode.pk}/chapters.json"
        assert entry.podcast_transcript["url"].startswith(f"http://127.0.0.1:8000/d/e/{episode.pk}/transcript-uk.")


def test_podcastparser(feed_xml: tuple[bytes, list[Any]]) -> None:
    xml, episodes = feed_xml
    parsed = podcastparser.parse("http://127.0.0.1:8000" + URL, io.BytesIO(xml))
    assert len(parsed["episodes"]) == 3
    by_guid = {e["guid"]: e for e in parsed["episodes"]}
    for episode in episodes:
        item = by_guid[episode.guid]
        assert item["total_time"] == 10 and item["number"] == episode.number
        assert item["enclosures"][0]["file_size"] == 160_000


def test_partytime_keeps_every_item_and_reads_podcast_tags(
    feed_xml: tuple[bytes, list[Any]], partytime: Callable[[bytes], dict[str, Any]]
) -> None:
    xml, episodes = feed_xml
    feed = partytime(xml)
    assert len(feed["items"]) == len(etree.fromstring(xml).findall("channel/item")) == 3
    assert feed["pubsub"]["hub"] == "https://hub.example.com/"
    assert feed["pubsub"]["self"] == "http://127.0.0.1:8000" + URL
    first = next(item for item in feed["items"] if item["guid"] == episodes[0].guid)
    assert first["enclosure"]["length"] == 160_000 and first["duration"] == 10
    assert [t["type"] for t in first["podcastTranscripts"]] == ["application/srt", "text/vtt"]
    assert first["podcastChapters"]["url"].endswith(f"/d/e/{episodes[0].pk}/chapters.json")
    assert first["podcastSoundbites"] == [{"startTime": 5, "duration": 20, "title": "Цитата"}]
    assert first["podcastPeople"][0]["name"] == "Гість 1"
    types = [alt["type"] for alt in first["alternativeEnclosures"]]
    assert types == ["audio/mp4", "audio/ogg", "video/mp4"]
