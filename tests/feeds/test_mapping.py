"""Model rows → FeedShow/FeedEpisode: every field from the right row, in a constant number of queries."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from episodes.links import chapters_url, rendition_url
from episodes.models import Episode, EpisodePerson, Person, Rendition, ShowPerson, Status
from episodes.services.content import show_update
from feeds.mapping import FeedUnavailable, feed_inputs
from tests.feeds.factories import add_rendition, add_transcript, live_episode, live_video

pytestmark = pytest.mark.django_db


def test_enclosure_is_the_mp3_rendition_with_exact_size_and_duration(show: Any) -> None:
    episode = live_episode(show, 1)
    mp3 = Rendition.objects.get(episode=episode, kind="audio_mp3")
    _, (item,), _ = feed_inputs(show=show)
    assert item.enclosure_url == rendition_url(mp3) == f"http://127.0.0.1:8000/d/e/{episode.pk}/audio_mp3.mp3"
    assert (item.enclosure_length, item.enclosure_type, item.duration) == (mp3.byte_size, "audio/mpeg", 10.0)
    assert item.guid == episode.guid and item.pub_date == episode.publish_at


def test_item_details_from_rows(show: Any) -> None:
    episode = live_episode(
        show, 1, season=2, number=7, episode_type="bonus", explicit=True, show_notes="<p>Notes</p>",
        chapters=[{"start": 0, "title": "Intro"}], soundbites=[{"start": 12.5, "duration": 30, "title": "Quote"}],
    )  # fmt: skip
    add_rendition(episode, "audio_aac")
    add_rendition(episode, "audio_opus")
    add_transcript(episode, "vtt")
    add_transcript(episode, "srt")
    add_transcript(episode, "json")
    guest = Person.objects.create(name="Гість", href="https://example.com/g")
    EpisodePerson.objects.create(episode=episode, person=guest, role="guest")
    _, (item,), _ = feed_inputs(show=show)
    assert (item.season, item.episode, item.episode_type, item.explicit) == (2, 7, "bonus", True)
    assert item.content_html == "<p>Notes</p>"
    assert item.chapters_url == chapters_url(episode.pk)
    assert [(s.start, s.duration, s.title) for s in item.soundbites] == [(12.5, 30.0, "Quote")]
    assert [(p.name, p.role, p.href) for p in item.persons] == [("Гість", "guest", "https://example.com/g")]
    mimes = {t.mime_type: t for t in item.transcripts}
    assert set(mimes) == {"text/vtt", "application/x-subrip", "application/json"}
    assert mimes["text/vtt"].url.endswith(f"/d/e/{episode.pk}/transcript-uk.vtt")
    assert mimes["text/vtt"].rel == "captions" and mimes["application/json"].rel is None
    assert [(a.title, a.mime_type, a.sources[0].rsplit("/", 1)[1]) for a in item.alternate_enclosures] == [
        ("AAC", "audio/mp4", "audio_aac.m4a"),
        ("Opus", "audio/ogg", "audio_opus.opus"),
    ]


def test_no_chapters_no_chapters_url(show: Any) -> None:
    live_episode(show, 1)
    _, (item,), _ = feed_inputs(show=show)
    assert item.chapters_url is None and item.soundbites == () and item.transcripts == ()


def test_episode_made_from_a_live_video_lists_video_renditions(show: Any) -> None:
    episode = live_episode(show, 1)
    video = live_video(show, episode=episode)
    add_rendition(video, "video_mp4", variant="360p", height=360)
    add_rendition(video, "hls")
    _, (item,), _ = feed_inputs(show=show)
    titles = [(a.title, a.mime_type, a.length is None) for a in item.alternate_enclosures]
    assert titles == [
        ("Video 720p", "video/mp4", False),
        ("Video 360p", "video/mp4", False),
        ("Video (HLS)", "application/vnd.apple.mpegurl", True),
    ]
    (hls_url,) = item.alternate_enclosures[2].sources
    assert re.fullmatch(rf"http://127.0.0.1:8000/d/v/{video.pk}/hls-[0-9a-f]{{12}}/master.m3u8", hls_url)
    # A video taken down takes its renditions out of the feed (their URLs would 404).
    type(video).objects.filter(pk=video.pk).update(status=Status.READY)
    _, (item,), _ = feed_inputs(show=show)
    assert item.alternate_enclosures == ()


def test_channel_fields(show: Any) -> None:
    show_update(
        show=show, owner_name="News Example", owner_email="pod@example.com", copyright="© News",
        website_url="https://news.example.com/pod", new_feed_url="https://elsewhere.example.com/feed.xml",
        funding=[{"url": "https://news.example.com/support", "text": "Support"}], show_type="serial",
    )  # fmt: skip
    host = Person.objects.create(name="Олена")
    ShowPerson.objects.create(show=show, person=host, role="host")
    channel, items, page = feed_inputs(show=show, hub_url="https://hub.example.com/")
    assert items == [] and page is None
    assert channel.categories == (("News", "Politics"),)
    assert channel.feed_url == "http://127.0.0.1:8000/feeds/ukraine-insights.xml"
    assert channel.link == "https://news.example.com/pod" and channel.show_type == "serial"
    assert channel.new_feed_url == "https://elsewhere.example.com/feed.xml"
    assert channel.hub_url == "https://hub.example.com/"
    assert channel.podcast_guid == show.podcast_guid
    assert [p.name for p in channel.persons] == ["Олена"]
    assert [(f.url, f.text) for f in channel.funding] == [("https://news.example.com/support", "Support")]


def test_show_without_categories_is_unavailable_not_a_crash(show: Any) -> None:
    type(show).objects.filter(pk=show.pk).update(categories=[])
    show.refresh_from_db()
    with pytest.raises(FeedUnavailable):
        feed_inputs(show=show)


def test_only_live_episodes_with_mp3(show: Any) -> None:
    live = live_episode(show, 1)
    live_episode(show, 2, publish_at=timezone.now() + timedelta(hours=1))  # scheduled
    draft = Episode.objects.create(show=show, title="Draft", slug="draft")
    no_mp3 = live_episode(show, 3)
    Rendition.objects.filter(episode=no_mp3).delete()
    _, items, _ = feed_inputs(show=show)
    assert [i.guid for i in items] == [live.guid]
    assert draft.guid not in {i.guid for i in items}


def _rich_episodes(show: Any, count: int) -> None:
    for n in range(1, count + 1):
        episode = live_episode(show, n, chapters=[{"start": 0, "title": "Intro"}])
        add_rendition(episode, "audio_aac")
        add_transcript(episode, "vtt")
        EpisodePerson.objects.create(episode=episode, person=Person.objects.create(name=f"P{n}"))
    live_video(show, episode=Episode.objects.filter(show=show).first())


@pytest.mark.parametrize("count", [1, 50])
def test_constant_number_of_queries(show: Any, count: int, django_assert_max_num_queries: Any) -> None:
    _rich_episodes(show, count)
    with django_assert_max_num_queries(9):
        _, items, _ = feed_inputs(show=show)
    assert len(items) == count


def test_paging_loads_one_page(show: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(1, 4):
        live_episode(show, n)
    monkeypatch.setattr("feeds.mapping.PAGE_SIZE", 2)
    _, first, info = feed_inputs(show=show, page=1)
    _, second, info2 = feed_inputs(show=show, page=2)
    assert [i.title for i in first] == ["Випуск 1", "Випуск 2"] and [i.title for i in second] == ["Випуск 3"]
    assert info is not None and info.next and info.next.endswith("?page=2") and info.previous is None
    assert info2 is not None and info2.next is None and info2.previous and info2.last.endswith("?page=2")
