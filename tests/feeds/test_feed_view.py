"""GET/HEAD /feeds/<slug>.xml: caching headers, 304s, gzip, scheduled publishing, GUID and URL stability."""

from __future__ import annotations

import gzip
import time
from datetime import timedelta
from typing import Any

import feedparser
import pytest
from django.test import Client
from django.utils import timezone

from episodes.models import Episode, EpisodePerson, Person, ShowPerson
from episodes.services.content import episode_unpublish, episode_update, show_update
from feeds.rendering import feed_cache
from feeds.selectors import feed_state
from tests.feeds.factories import add_rendition, live_episode

pytestmark = pytest.mark.django_db
URL = "/feeds/ukraine-insights.xml"


@pytest.fixture(autouse=True)
def clear_feed_cache() -> None:
    feed_cache().clear()


def entries(client: Client, url: str = URL) -> list[Any]:
    response = client.get(url)
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return list(parsed.entries)


def test_unknown_show_is_404(client: Client) -> None:
    response = client.get("/feeds/no-such-show.xml")
    assert response.status_code == 404 and b"No show" in response.content


def test_post_is_refused(client: Client, show: Any) -> None:
    assert client.post(URL).status_code == 405


def test_etag_and_304(client: Client, show: Any) -> None:
    live_episode(show, 1)
    first = client.get(URL)
    assert first.status_code == 200
    assert first["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert first["ETag"].startswith('W/"') and first["Last-Modified"] and first["Vary"] == "Accept-Encoding"
    again = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"] and again["Cache-Control"] == first["Cache-Control"]
    since = client.get(URL, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert since.status_code == 304
    assert client.get(URL, HTTP_IF_NONE_MATCH='W/"stale"').status_code == 200


def test_any_change_a_listener_sees_changes_the_etag(client: Client, show: Any) -> None:
    episode = live_episode(show, 1)
    etag = client.get(URL)["ETag"]
    episode_update(episode=episode, title="Renamed")
    renamed = client.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert renamed.status_code == 200 and b"Renamed" in renamed.content
    etag = renamed["ETag"]
    show_update(show=show, title="New show title")
    assert client.get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_editing_people_changes_the_feed(client: Client, show: Any) -> None:
    """Credits live in other tables than the episode: editing them must still reach the feed and its validators."""
    episode = live_episode(show, 1)
    guest = Person.objects.create(name="Олена Гостя", href="https://news.example.com/olena")
    host = Person.objects.create(name="Host One")
    credit = EpisodePerson.objects.create(episode=episode, person=guest, role="guest")
    show_credit = ShowPerson.objects.create(show=show, person=host, role="host")
    first = client.get(URL)
    assert "Олена Гостя" in first.content.decode() and "Host One" in first.content.decode()

    def after_edit(previous: Any, edited: Any, *expected: str) -> Any:
        before = feed_state(slug=show.slug)
        assert before is not None
        edited.save()
        response = client.get(URL, HTTP_IF_NONE_MATCH=previous["ETag"])
        assert response.status_code == 200 and response["ETag"] != previous["ETag"]
        for text in expected:
            assert text in response.content.decode()
        after = feed_state(slug=show.slug)  # Last-Modified moves too (the header rounds it to seconds)
        assert after is not None and after.last_modified > before.last_modified
        return response

    time.sleep(1.01)  # so a whole-second If-Modified-Since can tell the edit apart
    guest.name = "Олена Петренко"
    renamed = after_edit(first, guest, "Олена Петренко")
    assert "Олена Гостя" not in renamed.content.decode()
    assert client.get(URL, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 200
    guest.img = "https://cdn.example.com/olena.jpg"
    pictured = after_edit(renamed, guest, 'img="https://cdn.example.com/olena.jpg"')
    credit.role = "cohost"
    recast = after_edit(pictured, credit, 'role="cohost"')
    host.href = "https://news.example.com/host"
    linked = after_edit(recast, host, 'href="https://news.example.com/host"')
    show_credit.role = "producer"
    after_edit(linked, show_credit, 'role="producer"')


def test_gzip_when_accepted(client: Client, show: Any) -> None:
    live_episode(show, 1)
    plain = client.get(URL)
    zipped = client.get(URL, HTTP_ACCEPT_ENCODING="br, gzip;q=0.8")
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert int(zipped["Content-Length"]) == len(zipped.content) < len(plain.content)
    assert zipped["ETag"] == plain["ETag"]  # weak: same representation, two encodings
    assert "Content-Encoding" not in client.get(URL, HTTP_ACCEPT_ENCODING="gzip;q=0").headers


def test_head_has_headers_and_no_body(client: Client, show: Any) -> None:
    live_episode(show, 1)
    get = client.get(URL)
    head = client.head(URL)
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Length"] == get["Content-Length"] and head["ETag"] == get["ETag"]


def test_drafts_and_scheduled_episodes_are_absent(client: Client, show: Any) -> None:
    live = live_episode(show, 1)
    live_episode(show, 2, publish_at=timezone.now() + timedelta(days=1))
    Episode.objects.create(show=show, title="Draft", slug="draft")
    pulled = live_episode(show, 3)
    episode_unpublish(episode=pulled)
    assert [e.id for e in entries(client)] == [live.guid]


def test_cache_control_stops_at_the_next_scheduled_publish(client: Client, show: Any, settings: Any) -> None:
    settings.FEED_CACHE_SECONDS = 600
    live_episode(show, 1)
    assert client.get(URL)["Cache-Control"] == "public, max-age=600"
    scheduled = live_episode(show, 2, publish_at=timezone.now() + timedelta(seconds=120))
    before = client.get(URL)
    max_age = int(before["Cache-Control"].rsplit("=", 1)[1])
    assert 115 <= max_age <= 120
    assert scheduled.guid not in before.content.decode()
    # Time passes (the row is not touched, as in production): the cached bytes must not be served.
    Episode.objects.filter(pk=scheduled.pk).update(publish_at=timezone.now() - timedelta(seconds=1))
    after = client.get(URL, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and scheduled.guid in after.content.decode()
    assert after["Cache-Control"] == "public, max-age=600"


def test_scheduled_episode_appears_at_its_time_in_real_time(client: Client, show: Any) -> None:
    live_episode(show, 1)
    at = timezone.now() + timedelta(seconds=1.5)
    scheduled = live_episode(show, 2, publish_at=at)
    before = client.get(URL)
    assert scheduled.guid not in before.content.decode()
    assert int(before["Cache-Control"].rsplit("=", 1)[1]) <= 2
    time.sleep(max(0.0, (at - timezone.now()).total_seconds()) + 0.1)
    after = client.get(URL, HTTP_IF_NONE_MATCH=before["ETag"], HTTP_IF_MODIFIED_SINCE=before["Last-Modified"])
    assert after.status_code == 200 and scheduled.guid in after.content.decode()


def test_guid_survives_title_notes_and_media_changes(client: Client, show: Any) -> None:
    episode = live_episode(show, 1)
    (before,) = entries(client)
    episode_update(episode=episode, title="Новий заголовок", show_notes="<p>New notes</p>")
    add_rendition(episode, "audio_mp3", run="run2", content=b"\xff" * 2000)
    (after,) = entries(client)
    assert after.id == before.id == episode.guid
    assert after.title == "Новий заголовок"


def test_the_enclosure_url_follows_the_bytes(client: Client, show: Any) -> None:
    """Re-processed (or re-tagged) bytes get a new URL: the length in the feed is always that of the bytes the URL
    serves, and a cache holding the old URL holds the old bytes with it."""
    import hashlib

    episode = live_episode(show, 1)
    add_rendition(episode, "audio_mp3", content=b"\x00" * 1000, sha256=hashlib.sha256(b"\x00" * 1000).hexdigest())
    (before,) = entries(client)
    add_rendition(episode, "audio_mp3", run="run2", content=b"\xff" * 2000,
                  sha256=hashlib.sha256(b"\xff" * 2000).hexdigest())  # fmt: skip
    (after,) = entries(client)
    assert after.enclosures[0].href != before.enclosures[0].href
    for entry, size in ((before, 1000), (after, 2000)):
        assert int(entry.enclosures[0].length) == size
    served = client.get(after.enclosures[0].href.removeprefix("http://127.0.0.1:8000"))
    assert served.status_code == 200 and int(served["Content-Length"]) == 2000


def test_items_link_to_their_public_page_and_carry_itunes_title(client: Client, show: Any) -> None:
    episode = live_episode(show, 1)
    (entry,) = entries(client)
    assert entry.link == f"http://127.0.0.1:8000/episodes/{episode.pk}/{episode.slug}/"
    assert entry.itunes_title == entry.title == episode.title
    assert client.get(entry.link.removeprefix("http://127.0.0.1:8000")).status_code == 200


def test_what_is_not_in_the_feed_moves_neither_last_build_date_nor_etag(client: Client, show: Any) -> None:
    """Publishing a video whose episode is not live, or processing a draft, changes no byte of the feed."""
    from tests.feeds.factories import live_video

    live_episode(show, 1)
    pulled = live_episode(show, 2)
    episode_unpublish(episode=pulled)
    draft = Episode.objects.create(show=show, title="Чернетка", slug="draft")
    first = client.get(URL)
    time.sleep(1.1)  # HTTP dates have whole seconds
    live_video(show, episode=pulled)
    add_rendition(draft, "audio_mp3")
    again = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == first["ETag"] and again["Last-Modified"] == first["Last-Modified"]
    assert client.get(URL).content == first.content  # lastBuildDate included


def test_new_feed_url_and_websub_hub(client: Client, show: Any, settings: Any) -> None:
    settings.WEBSUB_HUB_URL = "https://hub.example.com/"
    show_update(show=show, new_feed_url="https://elsewhere.example.com/feed.xml")
    body = client.get(URL).content.decode()
    assert "<itunes:new-feed-url>https://elsewhere.example.com/feed.xml</itunes:new-feed-url>" in body
    assert '<atom:link rel="hub" href="https://hub.example.com/"/>' in body


def test_show_that_cannot_make_a_valid_feed_is_503_not_500(client: Client, show: Any) -> None:
    type(show).objects.filter(pk=show.pk).update(categories=[])
    response = client.get(URL)
    assert response.status_code == 503 and b"categor" in response.content


def test_paging(client: Client, show: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("feeds.mapping.PAGE_SIZE", 2)
    for n in range(1, 6):
        live_episode(show, n)
    assert len(entries(client)) == 5  # the full feed stays the default
    page = client.get(URL + "?page=2").content.decode()
    assert '<atom:link rel="next" href="http://127.0.0.1:8000/feeds/ukraine-insights.xml?page=3"/>' in page
    assert "<fh:complete/>" not in page
    assert [e.title for e in entries(client, URL + "?page=3")] == ["Випуск 5"]
    assert client.get(URL + "?page=4").status_code == 404
    assert client.get(URL + "?page=zero").status_code == 400
    assert client.get(URL + "?page=0").status_code == 400


def test_only_the_feed_itself_advertises_the_websub_hub(client: Client, show: Any, settings: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Pages are never pinged (their items shift with every episode), so they must not invite subscriptions."""
    settings.WEBSUB_HUB_URL = "https://hub.example.com/"
    monkeypatch.setattr("feeds.mapping.PAGE_SIZE", 2)
    for n in range(1, 4):
        live_episode(show, n)
    assert '<atom:link rel="hub"' in client.get(URL).content.decode()
    page = client.get(URL + "?page=1").content.decode()
    assert 'rel="next"' in page and 'rel="hub"' not in page


def test_built_once_then_served_from_cache(client: Client, show: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    live_episode(show, 1)
    import feeds.rendering as rendering

    calls: list[int] = []
    real = rendering.assemble_feed

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(rendering, "assemble_feed", counting)
    for _ in range(5):
        assert client.get(URL).status_code == 200
    assert len(calls) == 1


def test_chapters_document(client: Client, show: Any) -> None:
    episode = live_episode(show, 1, chapters=[{"start": 0, "title": "Вступ"}, {"start": 5.5, "title": "Інтерв'ю"}])
    response = client.get(f"/d/e/{episode.pk}/chapters.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json+chapters"
    assert response.json() == {
        "version": "1.2.0",
        "chapters": [{"startTime": 0, "title": "Вступ"}, {"startTime": 5.5, "title": "Інтерв'ю"}],
    }
    assert client.get(f"/d/e/{episode.pk}/chapters.json", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    draft = Episode.objects.create(show=show, title="D", slug="d", chapters=[{"start": 0, "title": "X"}])
    assert client.get(f"/d/e/{draft.pk}/chapters.json").status_code == 404
