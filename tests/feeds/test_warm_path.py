"""The warm feed path: the fingerprint is reused for at most a second (never past a scheduled episode, never
inside a transaction), and the decoded feed kept beside the cache entry obeys the cache."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

import feeds.selectors as selectors
from feeds.items import ItemFragments
from feeds.rendering import feed_cache, rendered_feed
from tests.feeds.factories import live_episode


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the fingerprint query by a counting fake; the returned list grows by one per query."""
    calls: list[str] = []
    monkeypatch.setattr(selectors, "_recent_states", {})

    def fake(*, slug: str, next_in: float | None = None) -> selectors.FeedState:
        calls.append(slug)
        nxt = timezone.now() + timedelta(seconds=next_in) if next_in is not None else None
        return selectors.FeedState(show=None, live_count=1, next_scheduled_at=nxt,  # type: ignore[arg-type]
                                   last_modified=timezone.now(), fingerprint=str(len(calls)))  # fmt: skip

    monkeypatch.setattr(selectors, "feed_state", fake)
    return calls


def test_state_is_reused_within_a_second_then_read_again(counted: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    first = selectors.recent_feed_state(slug="a")
    assert selectors.recent_feed_state(slug="a") is first and counted == ["a"]
    assert selectors.recent_feed_state(slug="b") is not first and counted == ["a", "b"]
    clock = selectors.time.monotonic() + selectors.STATE_REUSE_SECONDS + 0.01
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock)
    assert selectors.recent_feed_state(slug="a") is not first and counted == ["a", "b", "a"]


def test_state_is_not_reused_past_the_next_scheduled_episode(
    counted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = selectors.feed_state
    monkeypatch.setattr(selectors, "feed_state", lambda *, slug: real(slug=slug, next_in=-0.5))  # type: ignore[call-arg]
    selectors.recent_feed_state(slug="a")
    selectors.recent_feed_state(slug="a")
    assert counted == ["a", "a"]  # its time has come: every request looks again


@pytest.mark.django_db
def test_inside_a_transaction_the_state_is_always_read_afresh(counted: list[str]) -> None:
    with transaction.atomic():
        selectors.recent_feed_state(slug="a")
        selectors.recent_feed_state(slug="a")
    assert counted == ["a", "a"]


@pytest.mark.django_db
def test_decoded_feed_obeys_a_cache_clear(show: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    live_episode(show, 1)
    state = selectors.feed_state(slug=show.slug)
    assert state is not None
    first = rendered_feed(state)
    assert rendered_feed(state) is first  # the decoded copy, no unpickling
    builds: list[int] = []
    import feeds.rendering as rendering

    real = rendering.assemble_feed

    def counting(*args: Any, **kwargs: Any) -> bytes:
        builds.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(rendering, "assemble_feed", counting)
    feed_cache().clear()
    again = rendered_feed(state)
    assert builds == [1] and again is not first and again.body == first.body


@pytest.mark.django_db
def test_a_rebuild_after_an_edit_builds_only_the_edited_item(
    show: Any, monkeypatch: pytest.MonkeyPatch, built: list[int]
) -> None:
    import feeds.builder as builder
    from episodes.services.content import episode_update

    episodes = [live_episode(show, n) for n in range(1, 5)]
    memo = ItemFragments(1 << 20)
    monkeypatch.setattr("feeds.items.ITEM_FRAGMENTS", memo)
    state = selectors.feed_state(slug=show.slug)
    assert state is not None
    first = rendered_feed(state)
    assert built == [4] and len(memo) == 4
    episode_update(episode=episodes[1], title="Оновлена назва")
    state = selectors.feed_state(slug=show.slug)
    assert state is not None
    second = rendered_feed(state)
    assert built == [4, 1]  # three items came from the memo
    assert "Оновлена назва".encode() in second.body and second.body != first.body
    assert second.body == builder.build_feed(*_inputs(state))  # the same bytes as a build from scratch


def _inputs(state: selectors.FeedState) -> tuple[Any, Any]:
    from feeds.mapping import feed_inputs

    channel, items, _info = feed_inputs(show=state.show, last_build_date=state.last_modified,
                                        hub_url=None, page=None, live_count=state.live_count)  # fmt: skip
    return channel, items
