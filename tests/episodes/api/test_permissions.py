"""Who sees and changes what: anonymous / producer of show A / producer of show B / staff.

Drafts (and scheduled items) of show A exist only for A's producers and staff: everyone else gets the same 404
as for an id that never existed, on every endpoint.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Q

from episodes.services.tokens import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db

WHO = ["anon", "a", "b", "staff"]


def _as(api: Any, tokens: dict[str, str], who: str) -> Any:
    return api(None if who == "anon" else tokens[who])


@pytest.mark.parametrize(("who", "status"), [("anon", 404), ("a", 200), ("b", 404), ("staff", 200)])
@pytest.mark.parametrize("item", ["draft_ep", "scheduled"])
def test_reading_a_draft(api: Any, tokens: dict[str, str], media: dict[str, Any], who: str, status: int,
                         item: str) -> None:  # fmt: skip
    obj = media[item]
    noun = "episodes" if item == "draft_ep" else "videos"
    response = _as(api, tokens, who).get(f"/{noun}/{obj.pk}")
    assert response.status_code == status
    if status == 404:
        never_existed = _as(api, tokens, who).get(f"/{noun}/999999")
        assert response.json() == {"error": {**never_existed.json()["error"], "message": response.json()["error"][
            "message"]}}  # fmt: skip
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("who", "titles"), [
    ("anon", {"Energy week", "How grids work", "Kyiv metro"}),
    ("a", {"Energy week", "How grids work", "Kyiv metro", "Secret draft", "Tomorrow"}),
    ("b", {"Energy week", "How grids work", "Kyiv metro", "B draft"}),
    ("staff", {"Energy week", "How grids work", "Kyiv metro", "Secret draft", "Tomorrow", "B draft"}),
])  # fmt: skip
def test_listing_and_search_see_only_what_they_may(api: Any, tokens: dict[str, str], media: dict[str, Any],
                                                   who: str, titles: set[str]) -> None:  # fmt: skip
    client = _as(api, tokens, who)
    assert {i["title"] for i in client.get("/media", limit=100).json()["items"]} == titles
    found = {i["title"] for i in client.get("/media", q="draft").json()["items"]}
    assert found == {t for t in titles if "draft" in t.lower()}


@pytest.mark.parametrize(("who", "status"), [("anon", 401), ("a", 200), ("b", 404), ("staff", 200)])
def test_editing_a_draft(api: Any, tokens: dict[str, str], media: dict[str, Any], who: str, status: int) -> None:
    response = _as(api, tokens, who).send("PATCH", f"/episodes/{media['draft_ep'].pk}", {"title": "New"})
    assert response.status_code == status


@pytest.mark.parametrize(("who", "status"), [("anon", 401), ("a", 200), ("b", 403), ("staff", 200)])
def test_editing_a_live_item(api: Any, tokens: dict[str, str], media: dict[str, Any], who: str, status: int) -> None:
    # B can already see the live episode, so refusing B says nothing new: 403.
    response = _as(api, tokens, who).send("PATCH", f"/episodes/{media['live_ep'].pk}", {"title": "New"})
    assert response.status_code == status


@pytest.mark.parametrize(("who", "status"), [("anon", 401), ("a", 201), ("b", 403), ("staff", 201)])
def test_creating_in_a_show(api: Any, tokens: dict[str, str], media: dict[str, Any], who: str, status: int) -> None:
    response = _as(api, tokens, who).send("POST", "/shows/ukraine-insights/videos", {"title": "X", "slug": "x"})
    assert response.status_code == status


@pytest.mark.parametrize(("who", "status"), [("anon", 401), ("a", 403), ("b", 403), ("staff", 201)])
def test_only_staff_create_shows(api: Any, tokens: dict[str, str], db: None, who: str, status: int) -> None:
    body = {"title": "New show", "slug": "new-show", "description": "About."}
    assert _as(api, tokens, who).send("POST", "/shows", body).status_code == status


@pytest.mark.parametrize(
    "call",
    [
        ("GET", "/episodes/{draft}/processing", None),
        ("POST", "/episodes/{draft}/publish", {}),
        ("POST", "/episodes/{draft}/unpublish", None),
        ("POST", "/episodes/{draft}/reprocess", None),
        ("DELETE", "/episodes/{draft}", None),
        ("PUT", "/episodes/{draft}/chapters", {"chapters": [{"start": 0, "title": "x"}]}),
        ("POST", "/episodes/{draft}/transcripts", {"language": "en", "format": "srt", "content": "x"}),
        ("POST", "/uploads", {"type": "episode", "id": "{draft}", "filename": "a.wav", "byte_size": 10}),
        ("POST", "/articles/cms-1/media", {"type": "episode", "id": "{draft}"}),
    ],
)
def test_every_write_endpoint_hides_others_drafts(api: Any, tokens: dict[str, str], media: dict[str, Any],
                                                  call: tuple[str, str, Any]) -> None:  # fmt: skip
    from episodes.services.articles import article_upsert

    article_upsert(external_id="cms-1", url="https://news.example.com/1")
    method, path, body = call
    draft = media["draft_ep"].pk
    if isinstance(body, dict):
        body = {k: (draft if v == "{draft}" else v) for k, v in body.items()}
    response = api(tokens["b"]).send(method, path.format(draft=draft), body)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"


def test_tokens_revoked_unknown_and_malformed(api: Any, users: dict[str, Any], media: dict[str, Any]) -> None:
    token, raw = api_token_create(user=users["a"], name="laptop")
    assert token.token_hash != raw and raw not in token.token_hash
    assert api(raw).get("/me").json() == {"user": "producer_a", "is_staff": False, "shows": ["ukraine-insights"]}
    token.refresh_from_db()
    assert token.last_used_at is not None
    api_token_revoke(token=token)
    for bad in (raw, "mh_nope", ""):
        response = api(None).get("/me", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    # A wrong token is refused even on public endpoints rather than silently treated as anonymous.
    assert api("mh_wrong").get("/media").status_code == 401
    users["a"].is_active = False
    users["a"].save()
    _, raw2 = api_token_create(user=users["a"], name="again")
    assert api(raw2).get("/me").status_code == 401


# --- Articles: the record and the order of other shows' media belong to staff and the CMS integration ----------


def _article_with_both_shows(media: dict[str, Any]) -> Any:
    from episodes.services.articles import article_link_media, article_upsert

    article, _ = article_upsert(external_id="cms-1", url="https://news.example.com/1", title="One")
    article_link_media(article=article, items=[media["live_ep"], media["b_live"]])  # A's, then B's
    return article


def _who(api: Any, tokens: dict[str, str], who: str) -> Any:
    if who == "cms":
        from episodes.services.producers import cms_integration_create

        return api(cms_integration_create(username="cms", token_name="sync")[1])
    return _as(api, tokens, who)


def _linked(article: Any) -> list[str]:
    from episodes.selectors import article_media_items

    return [i.title for i in article_media_items(article=article, where=Q())]


ARTICLE_WHO = ["anon", "a", "b", "staff", "cms"]


@pytest.mark.parametrize(("who", "status"), list(zip(ARTICLE_WHO, [401, 403, 403, 200, 200], strict=True)))
def test_rewriting_an_article_record(api: Any, tokens: dict[str, str], media: dict[str, Any], who: str,
                                     status: int) -> None:  # fmt: skip
    article = _article_with_both_shows(media)
    response = _who(api, tokens, who).send("PUT", "/articles/cms-1", {"url": "https://evil.example.com/x"})
    assert response.status_code == status
    article.refresh_from_db()
    assert (article.url == "https://evil.example.com/x") == (status == 200)


@pytest.mark.parametrize(("who", "status", "left"), [
    ("anon", 401, ["Energy week", "Kyiv metro"]),
    ("a", 200, ["Kyiv metro"]),  # A unlinks only A's media
    ("b", 200, ["Energy week"]),
    ("staff", 200, []),
    ("cms", 200, []),
])  # fmt: skip
def test_emptying_an_articles_media(api: Any, tokens: dict[str, str], media: dict[str, Any], who: str, status: int,
                                    left: list[str]) -> None:  # fmt: skip
    article = _article_with_both_shows(media)
    response = _who(api, tokens, who).send("PUT", "/articles/cms-1/media", {"items": []})
    assert response.status_code == status
    assert _linked(article) == left


@pytest.mark.parametrize(("who", "status"), list(zip(ARTICLE_WHO, [401, 204, 403, 204, 204], strict=True)))
def test_unlinking_show_as_media(api: Any, tokens: dict[str, str], media: dict[str, Any], who: str,
                                 status: int) -> None:  # fmt: skip
    article = _article_with_both_shows(media)
    response = _who(api, tokens, who).send("DELETE", f"/articles/cms-1/media/episode/{media['live_ep'].pk}")
    assert response.status_code == status
    assert ("Energy week" in _linked(article)) == (status != 204)


@pytest.mark.parametrize(("who", "status"), list(zip(ARTICLE_WHO, [401, 200, 403, 200, 200], strict=True)))
def test_linking_and_placing_show_as_live_media(api: Any, tokens: dict[str, str], media: dict[str, Any], who: str,
                                                status: int) -> None:  # fmt: skip
    article = _article_with_both_shows(media)
    body = {"type": "video", "id": media["live_vid"].pk, "position": 0}
    assert _who(api, tokens, who).send("POST", "/articles/cms-1/media", body).status_code == status
    expected = ["How grids work", "Energy week", "Kyiv metro"] if status == 200 else ["Energy week", "Kyiv metro"]
    assert _linked(article) == expected
    # Nor may B place A's media by listing it: 403, and nothing changes.
    if who == "b":
        items = [{"type": "episode", "id": media["live_ep"].pk}]
        assert _who(api, tokens, who).send("PUT", "/articles/cms-1/media", {"items": items}).status_code == 403
        assert _linked(article) == expected
