"""Producer endpoints for articles: upsert by the CMS's id, and link, unlink and reorder their media."""

from __future__ import annotations

from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Field, Status

from episodes.auth import request_user
from episodes.models import Article
from episodes.schemas import ArticleIn, ArticleMediaIn, ArticleMediaOut, ArticleOut, MediaLinkIn
from episodes.services.article_media import (
    article_media_insert,
    article_media_remove,
    article_media_set,
    article_save,
)
from episodes.services.errors import NotFound

from .base import TOKEN, WRITE_ERRORS, router
from .public import _article_media

ExternalId = Annotated[str, Field(min_length=1, max_length=128)]


def _article(external_id: str) -> Article:
    article = Article.objects.filter(external_id=external_id).first()
    if article is None:
        raise NotFound("No article with this id; create it with PUT /articles/{external_id} first.")
    return article


@router.put(
    "/articles/{external_id}", response={200: ArticleOut, 201: ArticleOut, **WRITE_ERRORS}, auth=TOKEN,
    tags=["articles"],
)  # fmt: skip
def upsert_article(request: HttpRequest, external_id: ExternalId, payload: ArticleIn) -> Status[ArticleOut]:
    """Create or update the article the CMS knows by ``external_id`` (updates: staff and the CMS integration)."""
    article, created = article_save(external_id=external_id, url=payload.url, title=payload.title,
                                    published_at=payload.published_at, user=request_user(request))  # fmt: skip
    out = ArticleOut(external_id=article.external_id, url=article.url, title=article.title,
                     published_at=article.published_at)  # fmt: skip
    return Status(201 if created else 200, out)


@router.put("/articles/{external_id}/media", response={200: ArticleMediaOut, **WRITE_ERRORS}, auth=TOKEN,
            tags=["articles"])  # fmt: skip
def set_article_media(request: HttpRequest, external_id: ExternalId, payload: ArticleMediaIn) -> ArticleMediaOut:
    """Set (and so reorder) the article's media: the full list, in editorial order."""
    article = _article(external_id)
    article_media_set(article=article, refs=[(r.type, r.id) for r in payload.items], user=request_user(request))
    return _article_media(request, article)


@router.post("/articles/{external_id}/media", response={200: ArticleMediaOut, **WRITE_ERRORS}, auth=TOKEN,
             tags=["articles"])  # fmt: skip
def link_article_media(request: HttpRequest, external_id: ExternalId, payload: MediaLinkIn) -> ArticleMediaOut:
    """Link one episode or video at ``position`` (or at the end); linking it again moves it."""
    article = _article(external_id)
    article_media_insert(article=article, kind=payload.type, pk=payload.id, position=payload.position,
                         user=request_user(request))  # fmt: skip
    return _article_media(request, article)


@router.delete("/articles/{external_id}/media/{type}/{id}", response={204: None, **WRITE_ERRORS}, auth=TOKEN,
               tags=["articles"])  # fmt: skip
def unlink_article_media(
    request: HttpRequest, external_id: ExternalId, type: Literal["episode", "video"],
    id: Annotated[int, Field(ge=1, le=2**62)],
) -> Status[None]:  # fmt: skip
    article_media_remove(article=_article(external_id), kind=type, pk=id, user=request_user(request))
    return Status(204, None)
