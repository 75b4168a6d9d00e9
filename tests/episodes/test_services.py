"""The service layer: what producers can and cannot do, with messages they understand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from episodes.models import Episode, Show, Status
from episodes.selectors import published_episodes
from episodes.services import articles as article_services
from episodes.services import content as services
from episodes.services.errors import Conflict, InvalidInput
from tests.conftest import attach_fake_audio

pytestmark = pytest.mark.django_db


def test_show_gets_its_permanent_podcast_guid_from_the_feed_url(show: Show, settings: Any) -> None:
    from episodes.models import podcast_guid_for

    assert show.podcast_guid == podcast_guid_for(f"{settings.PUBLIC_BASE_URL}/feeds/ukraine-insights.xml")
    services.show_update(show=show, title="Renamed")
    show.refresh_from_db()
    assert show.podcast_guid == podcast_guid_for(f"{settings.PUBLIC_BASE_URL}/feeds/ukraine-insights.xml")


@pytest.mark.parametrize("slug", ["Has Spaces", "under_score", "-leading", "double--hyphen", "UPPER", ""])
def test_invalid_slugs_are_rejected_with_a_clear_message(slug: str) -> None:
    with pytest.raises(InvalidInput) as info:
        services.show_create(title="T", slug=slug, description="d")
    assert "slug" in info.value.fields
    assert info.value.message.startswith("slug:")


def test_unicode_slug_is_accepted() -> None:
    show = services.show_create(title="Україна", slug="україна-щотижня", description="d")
    assert Show.objects.get(pk=show.pk).slug == "україна-щотижня"


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        ([["News", "Gossip"]], "“Gossip” is not a subcategory of “News”"),
        ([["Podcasts"]], "“Podcasts” is not an Apple Podcasts category"),
        ([["News"], ["Arts"], ["History"], ["Comedy"]], "at most three"),
    ],
)
def test_unknown_categories_are_rejected(categories: list[list[str]], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        services.show_create(title="T", slug="t", description="d", categories=categories)


def test_duplicate_show_slug_is_rejected(show: Show) -> None:
    with pytest.raises(InvalidInput, match="already exists"):
        services.show_create(title="Again", slug=show.slug, description="d")


def test_publishing_without_media_is_refused(episode: Episode) -> None:
    with pytest.raises(Conflict, match="no processed media yet"):
        services.episode_publish(episode=episode)
    with pytest.raises(Conflict, match="no processed media yet"):
        services.episode_publish(episode=episode, publish_at=timezone.now() + timedelta(days=1))
    episode.refresh_from_db()
    assert episode.status == Status.DRAFT and episode.publish_at is None


def test_publish_now_makes_it_visible(ready_episode: Episode) -> None:
    services.episode_publish(episode=ready_episode)
    assert list(published_episodes(show=ready_episode.show)) == [ready_episode]


def test_a_scheduled_episode_appears_at_its_time(ready_episode: Episode) -> None:
    services.episode_publish(episode=ready_episode, publish_at=timezone.now() + timedelta(hours=2))
    assert list(published_episodes()) == []
    # Time passes: nothing is run by hand, the selector's clock decides.
    Episode.objects.filter(pk=ready_episode.pk).update(publish_at=timezone.now() - timedelta(seconds=1))
    assert list(published_episodes()) == [ready_episode]


def test_naive_publish_time_is_rejected(ready_episode: Episode) -> None:
    from datetime import datetime

    with pytest.raises(InvalidInput, match="time zone"):
        services.episode_publish(episode=ready_episode, publish_at=datetime(2030, 1, 1))  # noqa: DTZ001


def test_unpublish_hides_it_and_keeps_the_guid(ready_episode: Episode) -> None:
    guid = ready_episode.guid
    services.episode_publish(episode=ready_episode)
    services.episode_unpublish(episode=ready_episode)
    ready_episode.refresh_from_db()
    assert ready_episode.status == Status.READY
    assert list(published_episodes()) == []
    assert ready_episode.guid == guid


def test_the_guid_of_a_published_episode_never_changes(ready_episode: Episode) -> None:
    services.episode_publish(episode=ready_episode)
    with pytest.raises(InvalidInput, match="never changes"):
        services.episode_update(episode=ready_episode, guid="urn:uuid:something-else")
    services.episode_update(episode=ready_episode, title="New title", show_notes="<p>New notes</p>")
    ready_episode.refresh_from_db()
    assert ready_episode.title == "New title"
    # The admin form path runs the model's clean(), which enforces the same rule.
    ready_episode.guid = "changed"
    with pytest.raises(Exception, match="never changes"):
        ready_episode.full_clean()


def test_duplicate_guid_on_import_is_rejected(episode: Episode) -> None:
    with pytest.raises(InvalidInput, match="already exists"):
        services.episode_create(show=episode.show, title="Imported", slug="imported", guid=episode.guid)


def test_invalid_chapters_are_rejected(episode: Episode) -> None:
    with pytest.raises(InvalidInput, match="starts before"):
        services.episode_update(episode=episode, chapters=[{"start": 10, "title": "B"}, {"start": 5, "title": "A"}])
    services.episode_update(episode=episode, chapters=[{"start": 0, "title": "Вступ"}, {"start": 30, "title": "Two"}])


def test_article_upsert_and_ordered_links(show: Show, ready_episode: Episode) -> None:
    video = services.video_create(show=show, title="Explainer", slug="explainer")
    article, created = article_services.article_upsert(
        external_id="cms-42", url="https://news.example.com/uk/стаття-42", title="Стаття"
    )
    assert created
    again, created = article_services.article_upsert(
        external_id="cms-42", url="https://news.example.com/uk/стаття-42", title="Renamed"
    )
    assert not created and again.pk == article.pk and again.title == "Renamed"
    article_services.article_link_media(article=article, items=[video, ready_episode])
    assert [link.video for link in article.video_links.all()] == [video]
    assert article.video_links.get().position == 0
    assert article.episode_links.get().position == 1
    with pytest.raises(InvalidInput, match="twice"):
        article_services.article_link_media(article=article, items=[video, video])


def test_attach_fake_audio_helper_is_only_for_tests(episode: Episode) -> None:
    # Sanity of the factory other tests lean on: a processed episode is READY with an MP3.
    ep = attach_fake_audio(episode)
    assert ep.status == Status.READY
    assert ep.renditions.filter(kind="audio_mp3").exists()
