"""The news site's main call, and producers arranging an article's media."""

from __future__ import annotations

from typing import Any

import pytest

from episodes.services.articles import article_link_media, article_upsert
from episodes.services.content import episode_create, video_create

from .conftest import add_renditions, go_live

pytestmark = pytest.mark.django_db


def _article(items: list[Any]) -> Any:
    article, _ = article_upsert(external_id="cms-42", url="https://news.example.com/2026/energy", title="Energy")
    article_link_media(article=article, items=items)
    return article


def test_article_media_in_editorial_order_across_kinds(api: Any, media: dict[str, Any]) -> None:
    _article([media["live_vid"], media["draft_ep"], media["live_ep"], media["b_live"], media["scheduled"]])
    body = api().get("/articles/cms-42/media").json()
    assert body["article"]["url"] == "https://news.example.com/2026/energy"
    assert [(i["type"], i["title"]) for i in body["items"]] == [
        ("video", "How grids work"), ("episode", "Energy week"), ("video", "Kyiv metro"),
    ]  # fmt: skip
    first = body["items"][0]
    assert first["sources"] and first["poster_url"] and first["embed_html"].startswith("<iframe")


def test_lookup_by_article_url(api: Any, media: dict[str, Any]) -> None:
    _article([media["live_ep"]])
    body = api().get("/articles/media", url="https://news.example.com/2026/energy").json()
    assert [i["title"] for i in body["items"]] == ["Energy week"]
    assert api().get("/articles/media", url="https://news.example.com/other").status_code == 404
    assert api().get("/articles/nope/media").status_code == 404


@pytest.mark.parametrize("count", [1, 50])
def test_article_query_count_does_not_grow(api: Any, show: Any, count: int, django_assert_max_num_queries: Any) -> None:
    items = []
    for n in range(count):
        if n % 2:
            items.append(go_live(add_renditions(video_create(show=show, title=f"V{n}", slug=f"v{n}"), video=True)))
        else:
            items.append(go_live(add_renditions(episode_create(show=show, title=f"E{n}", slug=f"e{n}"), video=False)))
    _article(items)
    with django_assert_max_num_queries(10):  # the fingerprint, then the rows
        body = api().get("/articles/cms-42/media").json()
    assert len(body["items"]) == count
    with django_assert_max_num_queries(1):  # warm: only the fingerprint
        again = api().get("/articles/cms-42/media")
    assert again.json() == body


def test_producer_creates_an_article_but_only_staff_or_the_cms_change_it(
    api: Any, tokens: dict[str, str], users: dict[str, Any]
) -> None:
    created = api(tokens["a"]).send("PUT", "/articles/cms-1", {"url": "https://news.example.com/a", "title": "A"})
    assert created.status_code == 201
    # Once it exists, the record is the CMS's: a producer (even its creator) cannot rewrite it.
    refused = api(tokens["a"]).send("PUT", "/articles/cms-1", {"url": "https://evil.example.com/", "title": "B"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    updated = api(tokens["staff"]).send("PUT", "/articles/cms-1", {"url": "https://news.example.com/a2", "title": "B"})
    assert updated.status_code == 200 and updated.json()["url"] == "https://news.example.com/a2"
    cms = api(run_cms_token())
    by_cms = cms.send("PUT", "/articles/cms-1", {"url": "https://news.example.com/a3"})
    assert by_cms.status_code == 200 and by_cms.json()["url"] == "https://news.example.com/a3"
    bad = api(tokens["a"]).send("PUT", "/articles/cms-2", {"url": "not a url"})
    assert bad.status_code == 422 and "url" in bad.json()["error"]["fields"]
    assert api().send("PUT", "/articles/cms-3", {"url": "https://news.example.com/c"}).status_code == 401


def run_cms_token() -> str:
    from episodes.services.producers import cms_integration_create

    return cms_integration_create(username="cms", token_name="sync")[1]


def test_link_reorder_unlink(api: Any, tokens: dict[str, str], media: dict[str, Any]) -> None:
    a = api(tokens["a"])
    a.send("PUT", "/articles/cms-1", {"url": "https://news.example.com/a"})
    ep, vid = media["live_ep"], media["live_vid"]
    body = a.send("PUT", "/articles/cms-1/media", {"items": [{"type": "video", "id": vid.pk},
                                                             {"type": "episode", "id": ep.pk}]}).json()  # fmt: skip
    assert [i["id"] for i in body["items"]] == [vid.pk, ep.pk]
    body = a.send("POST", "/articles/cms-1/media", {"type": "episode", "id": ep.pk, "position": 0}).json()
    assert [i["id"] for i in body["items"]] == [ep.pk, vid.pk]
    body = a.send("POST", "/articles/cms-1/media", {"type": "episode", "id": media["draft_ep"].pk}).json()
    assert [i["id"] for i in body["items"]] == [ep.pk, vid.pk, media["draft_ep"].pk]  # A sees its own draft
    assert [i["id"] for i in api().get("/articles/cms-1/media").json()["items"]] == [ep.pk, vid.pk]
    assert a.send("DELETE", f"/articles/cms-1/media/video/{vid.pk}").status_code == 204
    assert a.send("DELETE", f"/articles/cms-1/media/video/{vid.pk}").status_code == 404
    assert [i["id"] for i in a.get("/articles/cms-1/media").json()["items"]] == [ep.pk, media["draft_ep"].pk]


def test_reorder_keeps_links_the_producer_cannot_see(api: Any, tokens: dict[str, str], media: dict[str, Any]) -> None:
    article = _article([media["b_draft"], media["live_ep"]])
    b = api(tokens["b"])
    b_items = [{"type": "video", "id": media["b_live"].pk}, {"type": "video", "id": media["b_draft"].pk}]
    assert b.send("PUT", "/articles/cms-42/media", {"items": b_items}).status_code == 200
    # B's list filled B's slot (first) and went on at the end; A's episode kept its place.
    titles = [i["title"] for i in api(tokens["staff"]).get("/articles/cms-42/media").json()["items"]]
    assert titles == ["Kyiv metro", "Energy week", "B draft"]
    # A's reorder (or an empty list) cannot drop B's media, live or draft.
    api(tokens["a"]).send("PUT", "/articles/cms-42/media", {"items": [{"type": "episode", "id": media["live_ep"].pk}]})
    assert api(tokens["a"]).send("PUT", "/articles/cms-42/media", {"items": []}).status_code == 200
    titles = [i["title"] for i in api(tokens["staff"]).get("/articles/cms-42/media").json()["items"]]
    assert titles == ["Kyiv metro", "B draft"]
    assert article.pk


def test_linking_invisible_media_is_404(api: Any, tokens: dict[str, str], media: dict[str, Any]) -> None:
    _article([])
    response = api(tokens["b"]).send("POST", "/articles/cms-42/media", {"type": "episode", "id": media["draft_ep"].pk})
    assert response.status_code == 404
