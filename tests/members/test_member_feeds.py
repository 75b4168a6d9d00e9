"""Members' private feeds: content, tokens in every URL, revocation at once, parsers, media and counting."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import feedparser
import podcastparser
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from episodes.models import Episode
from feeds.rendering import feed_cache
from feeds.selectors import feed_state
from members import feeds as member_feeds
from members.services import member_feed_url, member_grant, member_revoke, member_rotate_token, member_url
from tests.feeds.factories import add_rendition, add_transcript, live_episode

pytestmark = pytest.mark.django_db
PUBLIC = "/feeds/ukraine-insights.xml"


@pytest.fixture(autouse=True)
def clear_caches() -> None:
    feed_cache().clear()
    member_feeds._decoded.clear()


@pytest.fixture
def content(show: Any) -> dict[str, Episode]:
    public = live_episode(show, 1)
    add_transcript(public, "vtt")
    Episode.objects.filter(pk=public.pk).update(chapters=[{"start": 0, "title": "Вступ"}])
    bonus = live_episode(show, 2, episode_type="bonus")
    Episode.objects.filter(pk=bonus.pk).update(members_only=True, title="Бонус для членів")
    early = live_episode(show, 3, publish_at=timezone.now() + timedelta(days=2))
    Episode.objects.filter(pk=early.pk).update(members_from=timezone.now() - timedelta(hours=1))
    return {"public": public, "bonus": bonus, "early": early}


def path_of(url: str) -> str:
    return url.removeprefix(settings.PUBLIC_BASE_URL)


def test_public_feed_has_no_member_content(client: Client, content: dict[str, Episode]) -> None:
    parsed = feedparser.parse(client.get(PUBLIC).content)
    assert [e.id for e in parsed.entries] == [content["public"].guid]
    bonus_mp3 = f"/d/e/{content['bonus'].pk}/audio_mp3.mp3"
    assert client.get(bonus_mp3).status_code == 404  # not public, not even by URL
    assert client.get(f"/api/v1/episodes/{content['bonus'].pk}").status_code == 404


def test_member_feed_has_everything_with_the_token_in_every_url(client: Client, content: dict[str, Episode]) -> None:
    member = member_grant(external_id="m-1")
    response = client.get(path_of(member_feed_url(member.token, "ukraine-insights")))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    xml = response.content
    parsed = feedparser.parse(xml)
    assert not parsed.bozo
    guids = {e.id for e in parsed.entries}
    assert guids == {c.guid for c in content.values()}
    assert b"<itunes:block>yes</itunes:block>" in xml
    assert re.search(rb"<podcast:locked[^>]*>yes</podcast:locked>", xml)
    assert b'rel="hub"' not in xml
    # Every URL of ours carries the token; none is left public.
    ours = re.findall(rb'(?:url|href|uri)="(' + re.escape(settings.PUBLIC_BASE_URL.encode()) + rb'/[^"]*)"', xml)
    assert ours and all(f"/members/{member.token}/".encode() in url for url in ours), ours
    for entry in parsed.entries:
        (enclosure,) = entry.enclosures
        assert enclosure.href == member_url(enclosure.href.replace(f"/members/{member.token}", ""), member.token)


def test_early_access_keeps_the_members_date(client: Client, content: dict[str, Episode]) -> None:
    member = member_grant(external_id="m-1")
    parsed = feedparser.parse(client.get(path_of(member_feed_url(member.token, "ukraine-insights"))).content)
    first = parsed.entries[0]
    assert first.id == content["early"].guid  # newest for members: they got it an hour ago
    assert first.published_parsed < timezone.now().utctimetuple()


def test_member_media_plays_and_counts_like_public(client: Client, content: dict[str, Episode]) -> None:
    member = member_grant(external_id="m-1")
    bonus = content["bonus"]
    url = path_of(member_url(f"{settings.PUBLIC_BASE_URL}/d/e/{bonus.pk}/audio_mp3.mp3", member.token))
    response = client.get(url, HTTP_RANGE="bytes=0-99", HTTP_USER_AGENT="AntennaPod/3.4")
    assert response.status_code == 206
    assert response["Cache-Control"] == "private, no-cache"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body == bytes((i * 31 + bonus.pk) % 251 for i in range(100))
    chapters = client.get(path_of(member_url(f"{settings.PUBLIC_BASE_URL}/d/e/{content['public'].pk}/chapters.json",
                                             member.token)))  # fmt: skip
    assert chapters.status_code == 200 and "Вступ" in chapters.content.decode()
    transcript = client.get(
        path_of(member_url(f"{settings.PUBLIC_BASE_URL}/d/e/{content['public'].pk}/transcript-uk.vtt", member.token))
    )
    assert transcript.status_code == 200


def test_revocation_is_immediate_for_feed_and_media(client: Client, content: dict[str, Episode]) -> None:
    member = member_grant(external_id="m-1")
    feed = path_of(member_feed_url(member.token, "ukraine-insights"))
    media = path_of(member_url(f"{settings.PUBLIC_BASE_URL}/d/e/{content['bonus'].pk}/audio_mp3.mp3", member.token))
    first = client.get(feed)
    assert first.status_code == 200 and client.get(media).status_code == 200
    member_revoke(external_id="m-1")
    gone = client.get(feed, HTTP_IF_NONE_MATCH=first["ETag"])  # even a revalidation gets nothing
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert client.get(media).status_code == 404
    # Granting again issues a new token; the leaked one stays dead.
    again = member_grant(external_id="m-1")
    assert again.token != member.token
    assert client.get(feed).status_code == 404
    assert client.get(path_of(member_feed_url(again.token, "ukraine-insights"))).status_code == 200


def test_rotation_kills_the_old_url(client: Client, content: dict[str, Episode]) -> None:
    member = member_grant(external_id="m-1")
    rotated = member_rotate_token(external_id="m-1")
    assert client.get(path_of(member_feed_url(member.token, "ukraine-insights"))).status_code == 404
    assert client.get(path_of(member_feed_url(rotated.token, "ukraine-insights"))).status_code == 200


def test_unknown_tokens_and_shows_are_404(client: Client, content: dict[str, Episode]) -> None:
    member = member_grant(external_id="m-1")
    assert client.get("/members/" + "A" * 32 + "/feeds/ukraine-insights.xml").status_code == 404
    assert client.get(path_of(member_feed_url(member.token, "no-such-show"))).status_code == 404


def test_etag_304_per_member(client: Client, content: dict[str, Episode]) -> None:
    one, two = member_grant(external_id="m-1"), member_grant(external_id="m-2")
    first = client.get(path_of(member_feed_url(one.token, "ukraine-insights")))
    other = client.get(path_of(member_feed_url(two.token, "ukraine-insights")))
    assert first["ETag"] != other["ETag"]
    again = client.get(path_of(member_feed_url(one.token, "ukraine-insights")), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_one_render_serves_every_member(
    client: Client, content: dict[str, Episode], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    original = member_feeds.assemble_member_feed

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(member_feeds, "assemble_member_feed", counting)
    bodies = set()
    for n in range(5):
        member = member_grant(external_id=f"m-{n}")
        bodies.add(client.get(path_of(member_feed_url(member.token, "ukraine-insights"))).content)
    assert len(calls) == 1 and len(bodies) == 5


def test_public_items_are_the_public_feeds_bytes(client: Client, content: dict[str, Episode]) -> None:
    public = client.get(PUBLIC).content
    member = member_grant(external_id="m-1")
    private = client.get(path_of(member_feed_url(member.token, "ukraine-insights"))).content
    item = re.search(rb"<item>.*?</item>", public, re.S)
    assert item is not None
    # Our media and feed URLs take the member's path; the item's <link> to the public episode page does not.
    prefix = re.escape(f"{settings.PUBLIC_BASE_URL}/".encode()) + rb"(?=d/|feeds/)"
    mine = f"{settings.PUBLIC_BASE_URL}/members/{member.token}/".encode()
    assert re.sub(prefix, mine.replace(b"\\", b"\\\\"), item.group(0)) in private


def test_member_only_episode_does_not_change_the_public_feed(show: Any) -> None:
    live_episode(show, 1)
    before = feed_state(slug="ukraine-insights")
    bonus = live_episode(show, 2)
    Episode.objects.filter(pk=bonus.pk).update(members_only=True, updated_at=before.last_modified)  # type: ignore[union-attr]
    assert feed_state(slug="ukraine-insights").live_count == 1  # type: ignore[union-attr]
    assert feed_state(slug="ukraine-insights", members=True).live_count == 2  # type: ignore[union-attr]


def test_member_feed_passes_the_three_parsers(
    client: Client, content: dict[str, Episode], partytime: Callable[[bytes], dict[str, Any]]
) -> None:
    add_rendition(content["bonus"], "audio_aac")
    type(content["bonus"].show).objects.update(owner_email="podcasts@news.example.com")
    member = member_grant(external_id="m-1")
    url = member_feed_url(member.token, "ukraine-insights")
    xml = client.get(path_of(url)).content
    parsed = podcastparser.parse(url, io.BytesIO(xml))
    assert len(parsed["episodes"]) == 3
    assert all(f"/members/{member.token}/d/" in e["enclosures"][0]["url"] for e in parsed["episodes"])
    feed = partytime(xml)
    assert len(feed["items"]) == 3
    assert feed["locked"] is True and feed["podcastOwner"] == "podcasts@news.example.com"
    assert feed["pubsub"]["self"] == url and "hub" not in feed["pubsub"]
    assert all(f"/members/{member.token}/d/" in item["enclosure"]["url"] for item in feed["items"])
    assert not feedparser.parse(xml).bozo


def test_a_show_that_moved_away_answers_301(client: Client, show: Any) -> None:
    from episodes.services.content import show_update

    live_episode(show, 1)
    show_update(show=show, new_feed_url="https://new-host.example/feed.xml")
    kept = client.get(PUBLIC)  # first: the old feed announces the new address
    assert kept.status_code == 200 and b"<itunes:new-feed-url>https://new-host.example/feed.xml" in kept.content
    show_update(show=show, feed_moved=True)
    moved = client.get(PUBLIC)
    assert moved.status_code == 301 and moved["Location"] == "https://new-host.example/feed.xml"


def test_services_set_member_content(client: Client, show: Any) -> None:
    from episodes.services.content import episode_update

    episode = live_episode(show, 1)
    episode_update(episode=episode, members_only=True)
    assert feedparser.parse(client.get(PUBLIC).content).entries == []
    member = member_grant(external_id="m-1")
    assert (
        len(feedparser.parse(client.get(path_of(member_feed_url(member.token, "ukraine-insights"))).content).entries)
        == 1
    )
