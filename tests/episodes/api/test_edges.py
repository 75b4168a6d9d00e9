"""API edges found by hand: dates out of range, publication dates of 1970, long article URLs, non-canonical ids,
language tags. Each is a 4xx with the API's JSON error (never a 500, never silently accepted)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from episodes.services.articles import article_upsert

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0", "1714557600", "soon"]


def _json_4xx(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return dict(response.json()["error"])


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize("field", ["published_from", "published_to"])
def test_media_filters_refuse_dates_out_of_range(api: Any, db: None, field: str, value: str) -> None:
    _json_4xx(api().get("/media", **{field: value}))


def test_media_filters_still_take_zoned_dates(api: Any, media: dict[str, Any]) -> None:
    response = api().get("/media", published_from="2000-01-01T00:00:00+14:00", published_to="2100-01-01T00:00:00Z")
    assert response.status_code == 200 and response.json()["count"] == 3


@pytest.mark.parametrize("value", [0, "0", "1970-01-01T00:00:00Z", "1999-12-31T23:00:00Z", *OUT_OF_RANGE[:2]])
def test_publish_at_refuses_zero_1970_and_out_of_range(api: Any, tokens: dict[str, str], media: dict[str, Any],
                                                       value: Any) -> None:  # fmt: skip
    episode = media["live_ep"]
    _json_4xx(api(tokens["a"]).send("POST", f"/episodes/{episode.pk}/publish", {"publish_at": value}))
    episode.refresh_from_db()
    assert episode.publish_at is None or episode.publish_at.year >= 2000


def test_publish_at_takes_a_real_date(api: Any, tokens: dict[str, str], media: dict[str, Any]) -> None:
    response = api(tokens["a"]).send("POST", f"/episodes/{media['live_ep'].pk}/publish",
                                     {"publish_at": "2030-05-01T09:00:00+03:00"})  # fmt: skip
    assert response.status_code == 200 and response.json()["publish_at"].startswith("2030-05-01T06:00:00")


@pytest.mark.parametrize("value", [*OUT_OF_RANGE[:4]])
def test_article_published_at_refuses_out_of_range(api: Any, tokens: dict[str, str], value: str) -> None:
    body = {"url": "https://news.example.com/a", "published_at": value}
    _json_4xx(api(tokens["staff"]).send("PUT", "/articles/cms-1", body))


def test_an_article_with_a_long_address_is_found_by_post_and_a_long_get_is_a_json_414(
    api: Any, client: Client, media: dict[str, Any]
) -> None:
    url = "https://news.example.com/" + "новини-" * 130  # 935 characters; ~6,000 bytes percent-encoded
    article, _ = article_upsert(external_id="long", url=url)
    from episodes.services.articles import article_link_media

    article_link_media(article=article, items=[media["live_ep"]])
    found = api().send("POST", "/articles/lookup", {"url": url})
    assert found.status_code == 200 and [i["id"] for i in found.json()["items"]] == [media["live_ep"].pk]
    assert api().send("POST", "/articles/lookup", {"url": "https://news.example.com/none"}).status_code == 404
    # A GET of the same address still works within 8 KiB…
    assert api().get("/articles/media", url=url).status_code == 200
    # …and past it the answer is JSON (gunicorn runs with --limit-request-line 0 so the request reaches Django).
    error = _json_4xx(client.get("/api/v1/articles/media?url=" + quote("https://x.example/" + "я" * 1500)), 414)
    assert error["code"] == "uri_too_long" and "/api/v1/articles/lookup" in error["message"]


def test_ids_in_urls_are_canonical(client: Client, media: dict[str, Any]) -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from episodes.models import Rendition

    pk = media["live_ep"].pk
    mp3 = Rendition.objects.get(episode_id=pk, kind=Rendition.Kind.AUDIO_MP3)
    default_storage.save(mp3.storage_key, ContentFile(b"ID3" + bytes(64)))
    assert client.get(f"/d/e/{pk}/audio_mp3.mp3").status_code in {200, 206, 302}
    assert client.get(f"/d/e/0{pk}/audio_mp3.mp3").status_code == 404
    assert client.get(f"/d/e/00{pk}/chapters.json").status_code == 404
    assert client.get(f"/embed/episode/0{pk}/").status_code == 404
    assert client.get(f"/episodes/0{pk}/").status_code == 404


@pytest.mark.parametrize(("language", "status"), [
    ("en-GB", 200), ("uk", 200), ("sr-Latn-RS", 200), ("es-419", 200),
    ("english", 422), ("e", 422), ("en_GB", 422), ("en-", 422), ("<b>", 422), ("", 422),
])  # fmt: skip
def test_show_language_is_a_bcp47_tag(api: Any, tokens: dict[str, str], show: Any, language: str,
                                      status: int) -> None:  # fmt: skip
    response = api(tokens["staff"]).send("PATCH", f"/shows/{show.slug}", {"language": language})
    assert response.status_code == status, response.content
    if status == 422:
        assert "language" in response.json()["error"].get("fields", {})
