"""The article media response is reused while nothing in it changed, and is fresh on the very next request after
any change: publish, unpublish, a scheduled time passing, an edit, re-processing, links, transcripts."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from episodes.models import Rendition
from episodes.response_cache import CACHE
from episodes.services.articles import article_link_media, article_upsert
from episodes.services.content import (
    episode_create,
    episode_publish,
    episode_unpublish,
    episode_update,
    show_update,
    video_create,
    video_update,
)
from episodes.services.transcripts import transcript_attach

from .conftest import add_renditions, go_live

PATH = "/articles/cms-7/media"


@pytest.fixture
def article(show: Any) -> dict[str, Any]:
    ep = go_live(add_renditions(episode_create(show=show, title="Energy week", slug="energy"), video=False))
    vid = go_live(add_renditions(video_create(show=show, title="Grids", slug="grids"), video=True))
    draft = add_renditions(episode_create(show=show, title="Draft", slug="draft"), video=False)
    art, _ = article_upsert(external_id="cms-7", url="https://news.example.com/7", title="Seven")
    article_link_media(article=art, items=[ep, vid, draft])
    return {"article": art, "episode": ep, "video": vid, "draft": draft}


def _titles(api: Any) -> list[str]:
    response = api().get(PATH)
    assert response.status_code == 200
    return [i["title"] for i in response.json()["items"]]


def _cached_calls(api: Any) -> tuple[Any, Any]:
    first, second = api().get(PATH), api().get(PATH)
    assert first.status_code == second.status_code == 200
    return first, second


def test_warm_response_is_reused_and_revalidates_with_304(api: Any, article: dict[str, Any],
                                                          django_assert_max_num_queries: Any) -> None:  # fmt: skip
    first = api().get(PATH)
    assert first["Cache-Control"] == "public, max-age=60"
    assert "Authorization" in first["Vary"]
    etag = first["ETag"]
    with django_assert_max_num_queries(1):
        again = api().get(PATH)
    assert again.content == first.content and again["ETag"] == etag
    with django_assert_max_num_queries(1):
        not_modified = api().get(PATH, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b"" and not_modified["ETag"] == etag
    assert api().get(PATH, headers={"If-None-Match": '"other"'}).status_code == 200


def test_publish_unpublish_and_edits_show_at_once(api: Any, article: dict[str, Any]) -> None:
    assert _titles(api) == ["Energy week", "Grids"]
    draft = article["draft"]
    episode_publish(episode=draft)
    assert _titles(api) == ["Energy week", "Grids", "Draft"]
    episode_unpublish(episode=article["episode"])
    assert _titles(api) == ["Grids", "Draft"]
    video_update(video=article["video"], title="Power grids")
    assert _titles(api) == ["Power grids", "Draft"]
    episode_update(episode=draft, title="Draft no more")
    assert _titles(api) == ["Power grids", "Draft no more"]
    show_update(show=article["video"].show, title="Renamed show")
    assert {i["show"]["title"] for i in api().get(PATH).json()["items"]} == {"Renamed show"}


def test_links_reordered_or_removed_show_at_once(api: Any, article: dict[str, Any]) -> None:
    assert _titles(api) == ["Energy week", "Grids"]
    article_link_media(article=article["article"], items=[article["video"], article["episode"]])
    assert _titles(api) == ["Grids", "Energy week"]
    article_link_media(article=article["article"], items=[article["video"]])
    assert _titles(api) == ["Grids"]
    article_upsert(external_id="cms-7", url="https://news.example.com/7", title="Seven, edited")
    assert api().get(PATH).json()["article"]["title"] == "Seven, edited"


def test_reprocessing_and_transcripts_show_at_once(api: Any, article: dict[str, Any]) -> None:
    video = article["video"]
    before = api().get(PATH).json()["items"][1]
    assert {s["height"] for s in before["sources"]} == {720, 360}
    # Re-processing swaps the rendition set: old rows go, new rows (new ids) come.
    old = Rendition.objects.filter(video=video, kind="video_mp4", variant="360p").get()
    source = old.source
    old.delete()
    Rendition.objects.create(video=video, source=source, kind="video_mp4", variant="1080p", mime_type="video/mp4",
                             width=1920, height=1080, duration=61.5, byte_size=5000,
                             storage_key=f"renditions/videos/{video.pk}/run2/v1080.mp4")  # fmt: skip
    after = api().get(PATH).json()["items"][1]
    assert {s["height"] for s in after["sources"]} == {720, 1080}
    transcript_attach(owner=video, language="en", fmt="vtt", content="WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n")
    assert {t["language"] for t in api().get(PATH).json()["items"][1]["transcripts"]} == {"uk", "en"}


def test_scheduled_item_appears_when_its_time_passes(api: Any, article: dict[str, Any]) -> None:
    draft = article["draft"]
    at = timezone.now() + timedelta(seconds=2)
    episode_publish(episode=draft, publish_at=at)
    first = api().get(PATH)
    assert [i["title"] for i in first.json()["items"]] == ["Energy week", "Grids"]
    # A shared cache must not keep the response past the moment the scheduled episode goes live.
    max_age = int(first["Cache-Control"].split("max-age=")[1])
    assert 0 <= max_age <= 2
    time.sleep(max(0.0, (at - timezone.now()).total_seconds()) + 0.05)
    assert _titles(api) == ["Energy week", "Grids", "Draft"]
    assert api().get(PATH)["Cache-Control"] == "public, max-age=60"


def test_producers_see_drafts_uncached_and_private(api: Any, article: dict[str, Any], tokens: dict[str, str]) -> None:
    assert _titles(api) == ["Energy week", "Grids"]
    mine = api(tokens["a"]).get(PATH)
    assert [i["title"] for i in mine.json()["items"]] == ["Energy week", "Grids", "Draft"]
    assert "private" in mine["Cache-Control"] and "no-cache" in mine["Cache-Control"]
    # The producer's response was not stored for anonymous readers, and drafts never reach them.
    assert _titles(api) == ["Energy week", "Grids"]
    assert all(b"Draft" not in entry.body for entry in list(CACHE._items.values()))


def test_by_url_lookup_is_cached_and_invalidated(api: Any, article: dict[str, Any]) -> None:
    first = api().get("/articles/media", url="https://news.example.com/7")
    assert first.status_code == 200 and first["ETag"]
    episode_unpublish(episode=article["episode"])
    second = api().get("/articles/media", url="https://news.example.com/7")
    assert [i["title"] for i in second.json()["items"]] == ["Grids"] and second["ETag"] != first["ETag"]
    assert api().get("/articles/media", url="https://news.example.com/none").status_code == 404


def test_unknown_article_is_404_then_found_once_created(api: Any, db: None) -> None:
    assert api().get("/articles/nope/media").status_code == 404
    article_upsert(external_id="nope", url="https://news.example.com/nope")
    assert api().get("/articles/nope/media").json()["items"] == []
