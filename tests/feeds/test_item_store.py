"""Stored feed items (feeds.items, the FeedItem table): a worker that has just started renders a show from the items
another process built, and a stored item is never used once anything it was made from has changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError

import feeds.builder as builder
import feeds.items as items
from episodes.models import Episode, EpisodePerson, Person, Show
from feeds import selectors
from feeds.mapping import feed_inputs
from feeds.models import FeedItem
from feeds.rendering import feed_cache, rendered_feed
from tests.feeds.factories import add_rendition, add_transcript, live_episode, live_video

pytestmark = pytest.mark.django_db


def fresh_render(show: Show) -> bytes:
    """A render in a process that has never built this show: no feed bytes cached, nothing memoised."""
    feed_cache().clear()
    items.ITEM_FRAGMENTS.clear()
    state = selectors.feed_state(slug=show.slug)
    assert state is not None
    body = rendered_feed(state).body
    channel, episodes, _ = feed_inputs(show=show, last_build_date=state.last_modified, live_count=state.live_count)
    assert body == builder.build_feed(channel, episodes), "differs from a build from scratch"
    return body


def test_a_new_process_renders_from_the_stored_items(show: Show, built: list[int]) -> None:
    for n in range(1, 4):
        live_episode(show, n)
    draft = Episode.objects.create(show=show, title="Чернетка", slug="draft")
    first = fresh_render(show)
    assert built == [3] and FeedItem.objects.count() == 3
    assert fresh_render(show) == first
    assert built == [3], "the second process built nothing"
    assert not FeedItem.objects.filter(episode=draft).exists()


def _retitle(episode: Episode) -> None:
    Episode.objects.filter(pk=episode.pk).update(title="Нова назва")


def _reprocess(episode: Episode) -> None:
    add_rendition(episode, "audio_mp3", run="run2", content=b"\xff\xfb" * 9000)


def _transcript(episode: Episode) -> None:
    add_transcript(episode, "vtt")


def _person_renamed(episode: Episode) -> None:
    Person.objects.filter(episodeperson__episode=episode).update(name="Олена Петренко")


def _video_added(episode: Episode) -> None:
    live_video(episode.show, episode=episode)


@pytest.mark.parametrize("change", [_retitle, _reprocess, _transcript, _person_renamed, _video_added])
def test_a_stored_item_is_not_used_after_what_it_was_made_from_changed(
    show: Show, built: list[int], change: Callable[[Episode], None]
) -> None:
    episodes = [live_episode(show, n) for n in range(1, 4)]
    person = Person.objects.create(name="Olena")
    EpisodePerson.objects.create(episode=episodes[1], person=person, role="host", group="cast")
    before = fresh_render(show)
    change(episodes[1])
    after = fresh_render(show)  # also checks the bytes against a build from scratch
    assert after != before
    assert built == [3, 1], "only the changed episode's item was built again"


def test_the_public_base_url_is_part_of_the_key(show: Show, built: list[int], settings: Any) -> None:
    live_episode(show, 1)
    before = fresh_render(show)
    settings.PUBLIC_BASE_URL = "https://media.example.org"
    after = fresh_render(show)
    assert b"https://media.example.org/d/e/" in after and after != before
    assert built == [1, 1]


def test_new_feed_code_does_not_reuse_items_written_by_older_code(
    show: Show, built: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    live_episode(show, 1)
    fresh_render(show)
    monkeypatch.setattr(items, "CODE_VERSION", b"another deploy")
    fresh_render(show)
    assert built == [1, 1]


def test_an_item_store_that_fails_does_not_fail_the_feed(
    show: Show, built: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    live_episode(show, 1)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise DatabaseError("database is locked")

    monkeypatch.setattr(FeedItem.objects, "bulk_create", broken)
    assert b"<item>" in fresh_render(show)
    assert FeedItem.objects.count() == 0


def test_an_episode_without_an_enclosure_is_remembered_as_no_item(show: Show, built: list[int]) -> None:
    live_episode(show, 1)
    lost = live_episode(show, 2)
    lost.renditions.all().delete()  # published, then its MP3 went away: no item (apps drop such items)
    body = fresh_render(show)
    assert body.count(b"<item>") == 1
    assert bytes(FeedItem.objects.get(episode=lost).xml) == b""
    fresh_render(show)
    assert built == [1]


def test_the_beat_prepares_every_shows_items_ahead_of_requests(show: Show, built: list[int]) -> None:
    from feeds.tasks import prepare_items

    episodes = [live_episode(show, n) for n in range(1, 4)]
    assert prepare_items.apply().get() == 3
    assert items.items_prepare_all() == 0  # all stored under their current keys: nothing built
    fresh_render(show)
    assert built == [3], "the listener's request built nothing: the beat had"
    _retitle(episodes[0])
    assert items.items_prepare_all() == 1
    fresh_render(show)
    assert built == [3, 1]
