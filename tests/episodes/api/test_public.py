"""Public reads: shows, listings with filters/search/pagination, item details, ETag/304 and CORS."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_shows_list_and_detail(api: Any, show: Any, show_b: Any) -> None:
    body = api().get("/shows").json()
    assert [s["slug"] for s in body] == ["kyiv-explained", "ukraine-insights"]
    one = api().get("/shows/ukraine-insights").json()
    assert one["feed_url"].endswith("/feeds/ukraine-insights.xml")
    missing = api().get("/shows/nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "No show with this slug."}}


def test_listing_shows_live_media_only_newest_first(api: Any, media: dict[str, Any]) -> None:
    body = api().get("/media").json()
    assert body["count"] == 3
    assert [(i["type"], i["title"]) for i in body["items"]] == [
        ("episode", "Energy week"), ("video", "How grids work"), ("video", "Kyiv metro"),
    ]  # fmt: skip


def test_listing_filters_and_pagination(api: Any, media: dict[str, Any]) -> None:
    assert [i["title"] for i in api().get("/media", type="video").json()["items"]] == ["How grids work", "Kyiv metro"]
    assert [i["title"] for i in api().get("/videos", show="kyiv-explained").json()["items"]] == ["Kyiv metro"]
    assert api().get("/episodes").json()["count"] == 1
    page = api().get("/media", limit=1, offset=1).json()
    assert (page["count"], page["limit"], page["offset"]) == (3, 1, 1)
    assert [i["title"] for i in page["items"]] == ["How grids work"]
    since = media["live_vid"].publish_at.isoformat()
    assert {i["title"] for i in api().get("/media", published_from=since).json()["items"]} == {
        "Energy week", "How grids work"
    }  # fmt: skip
    naive = api().get("/media", published_from="2024-01-01T00:00:00")
    assert naive.status_code == 422 and naive.json()["error"]["code"] == "validation_error"


def test_listing_by_article(api: Any, media: dict[str, Any]) -> None:
    from episodes.services.articles import article_link_media, article_upsert

    article, _ = article_upsert(external_id="cms-1", url="https://news.example.com/a/1")
    article_link_media(article=article, items=[media["b_live"], media["draft_ep"]])
    assert [i["title"] for i in api().get("/media", article="cms-1").json()["items"]] == ["Kyiv metro"]


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("grids", ["How grids work"]),  # title
        ("power CUTS", ["Energy week"]),  # description, case-insensitive, all words
        ("енергетику", ["Energy week", "How grids work", "Kyiv metro"]),  # Ukrainian transcript text
        ("Secret", []),  # drafts are not found
    ],
)
def test_search_titles_descriptions_transcripts(api: Any, media: dict[str, Any], query: str, titles: list[str]) -> None:
    assert [i["title"] for i in api().get("/media", q=query).json()["items"]] == titles


def test_video_detail_is_ready_to_render(api: Any, media: dict[str, Any]) -> None:
    vid = media["live_vid"]
    body = api().get(f"/videos/{vid.pk}").json()
    assert body["sources"][0]["url"] == f"http://127.0.0.1:8000/d/v/{vid.pk}/video_mp4-720p.mp4"
    assert [(s["height"], s["mime_type"], s["bitrate"]) for s in body["sources"]] == [
        (720, "video/mp4", 2_000_000), (360, "video/mp4", 2_000_000),
    ]  # fmt: skip
    assert re.fullmatch(rf"http://127.0.0.1:8000/d/v/{vid.pk}/hls-[0-9a-f]{{12}}/master.m3u8", body["hls_url"])
    assert body["poster_url"].endswith("/poster.jpg") and body["thumbnail_url"].endswith("/thumbnail.jpg")
    assert body["duration"] == 61.5
    assert body["transcripts"] == [{"language": "uk", "format": "vtt", "mime_type": "text/vtt",
                                    "url": f"http://127.0.0.1:8000/d/v/{vid.pk}/transcript-uk.vtt"}]  # fmt: skip
    assert body["embed_url"] == f"http://127.0.0.1:8000/embed/video/{vid.pk}/"
    assert body["oembed_url"] == (
        f"http://127.0.0.1:8000/oembed?url=http%3A%2F%2F127.0.0.1%3A8000%2Fembed%2Fvideo%2F{vid.pk}%2F"
    )
    assert body["embed_html"].startswith(f'<iframe src="http://127.0.0.1:8000/embed/video/{vid.pk}/"')
    assert 'width="640" height="360"' in body["embed_html"]


def test_episode_detail_has_audio_sources_and_chapters(api: Any, media: dict[str, Any]) -> None:
    from episodes.models import Episode

    ep = media["live_ep"]
    Episode.objects.filter(pk=ep.pk).update(chapters=[{"start": 0, "title": "Intro"}])
    body = api().get(f"/episodes/{ep.pk}").json()
    assert [s["mime_type"] for s in body["sources"]] == ["audio/mp4", "audio/mpeg"]
    assert body["chapters"] == [{"start": 0, "title": "Intro"}]
    assert body["chapters_url"] == f"http://127.0.0.1:8000/d/e/{ep.pk}/chapters.json"
    assert body["embed_url"].endswith(f"/embed/episode/{ep.pk}/")


def test_embed_html_escapes_titles(api: Any, media: dict[str, Any]) -> None:
    from episodes.models import Video

    Video.objects.filter(pk=media["live_vid"].pk).update(title='"><script>alert(1)</script>')
    html = api().get(f"/videos/{media['live_vid'].pk}").json()["embed_html"]
    assert "<script>" not in html and "&quot;&gt;&lt;script&gt;" in html


def test_etag_and_304(api: Any, media: dict[str, Any]) -> None:
    first = api().get("/media")
    etag = first["ETag"]
    assert etag and "max-age=60" in first["Cache-Control"] and "Authorization" in first["Vary"]
    again = api().get("/media", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    from episodes.models import Video

    Video.objects.filter(pk=media["live_vid"].pk).update(title="Renamed")
    changed = api().get("/media", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_producer_responses_are_private(api: Any, tokens: dict[str, str], media: dict[str, Any]) -> None:
    response = api(tokens["a"]).get("/media")
    assert "private" in response["Cache-Control"]


def test_cors_for_news_site_origins_only(api: Any, settings: Any, media: dict[str, Any]) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://news.example.com"]
    ok = api().get("/media", headers={"Origin": "https://news.example.com"})
    assert ok["Access-Control-Allow-Origin"] == "https://news.example.com"
    assert "ETag" in ok["Access-Control-Expose-Headers"]
    other = api().get("/media", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other
    preflight = api().client.options(
        "/api/v1/articles/x/media",
        headers={"Origin": "https://news.example.com", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "https://news.example.com"


def test_bad_query_values_get_the_error_shape(api: Any, db: None) -> None:
    response = api().get("/media", limit=1000, type="podcast")
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert set(fields) >= {"limit", "type"}
