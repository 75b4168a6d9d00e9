"""Read endpoints for the news site (anonymous: live media only; with a token, also the producer's drafts)."""

from __future__ import annotations

from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Field, Query, Schema
from ninja.decorators import decorate_view

from episodes.auth import request_user
from episodes.fingerprints import article_state
from episodes.models import Article, Episode, Show, Video
from episodes.response_cache import fingerprinted
from episodes.schemas import ArticleMediaOut, ArticleOut, MediaItemOut, MediaPageOut, ShowOut
from episodes.schemas.dates import ZonedDateTime
from episodes.selectors import MediaFilter, api_media_prefetch, article_media_items, media_page
from episodes.services.errors import InvalidInput, NotFound
from episodes.services.permissions import item_for_read, visible_q

from .base import OPTIONAL, READ_ERRORS, cached_get, router
from .render import media_item_out, show_out

Id = Annotated[int, Field(ge=1, le=2**62)]


class MediaFilterIn(Schema):
    type: Literal["episode", "video"] | None = Field(None, description="Only episodes or only videos.")
    show: Annotated[str, Field(max_length=100)] | None = Field(None, description="A show's slug.")
    article: Annotated[str, Field(max_length=128)] | None = Field(None, description="An article's external id.")
    published_from: ZonedDateTime | None = None
    published_to: ZonedDateTime | None = None
    q: Annotated[str, Field(max_length=200)] | None = Field(None, description="Search titles, text, transcripts.")
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    offset: Annotated[int, Field(ge=0, le=100_000)] = 0


def _page(request: HttpRequest, filters: MediaFilterIn, kind: str | None) -> MediaPageOut:
    for value in (filters.published_from, filters.published_to):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("Give dates with a time zone.", fields={"published_from": ["Naive datetime."]})
    query = (filters.q or "").replace("\x00", "").strip() or None
    flt = MediaFilter(
        kind=kind or filters.type,
        show_slug=filters.show,
        article_external_id=filters.article,
        published_from=filters.published_from,
        published_to=filters.published_to,
        query=query,
    )
    total, items = media_page(flt=flt, where=visible_q(request_user(request)), limit=filters.limit,
                              offset=filters.offset)  # fmt: skip
    return MediaPageOut(
        count=total, limit=filters.limit, offset=filters.offset, items=[media_item_out(i) for i in items]
    )


@router.get("/shows", response={200: list[ShowOut], **READ_ERRORS}, auth=OPTIONAL, tags=["public"])
@cached_get
def list_shows(request: HttpRequest) -> list[ShowOut]:
    return [show_out(show) for show in Show.objects.order_by("title", "id")]


@router.get("/shows/{slug}", response={200: ShowOut, **READ_ERRORS}, auth=OPTIONAL, tags=["public"])
@cached_get
def get_show(request: HttpRequest, slug: str) -> ShowOut:
    show = Show.objects.filter(slug=slug).first()
    if show is None:
        raise NotFound("No show with this slug.")
    return show_out(show)


@router.get("/media", response={200: MediaPageOut, **READ_ERRORS}, auth=OPTIONAL, tags=["public"])
@cached_get
def list_media(request: HttpRequest, filters: Query[MediaFilterIn]) -> MediaPageOut:
    """Episodes and videos, newest first, with filters, search and limit/offset pagination (``count`` = total)."""
    return _page(request, filters, None)


@router.get("/episodes", response={200: MediaPageOut, **READ_ERRORS}, auth=OPTIONAL, tags=["public"])
@cached_get
def list_episodes(request: HttpRequest, filters: Query[MediaFilterIn]) -> MediaPageOut:
    return _page(request, filters, "episode")


@router.get("/videos", response={200: MediaPageOut, **READ_ERRORS}, auth=OPTIONAL, tags=["public"])
@cached_get
def list_videos(request: HttpRequest, filters: Query[MediaFilterIn]) -> MediaPageOut:
    return _page(request, filters, "video")


def _item(model: type[Episode] | type[Video], pk: int, request: HttpRequest) -> MediaItemOut:
    item_for_read(model, pk, request_user(request))  # 404 unless visible to the caller
    return media_item_out(api_media_prefetch(model.objects.filter(pk=pk)).get())


@router.get("/episodes/{id}", response={200: MediaItemOut, **READ_ERRORS}, auth=OPTIONAL, tags=["public"])
@cached_get
def get_episode(request: HttpRequest, id: Id) -> MediaItemOut:
    return _item(Episode, id, request)


@router.get("/videos/{id}", response={200: MediaItemOut, **READ_ERRORS}, auth=OPTIONAL, tags=["public"])
@cached_get
def get_video(request: HttpRequest, id: Id) -> MediaItemOut:
    return _item(Video, id, request)


def _article_media(request: HttpRequest, article: Article | None) -> ArticleMediaOut:
    if article is None:
        raise NotFound("No article with this id or URL.")
    items = article_media_items(article=article, where=visible_q(request_user(request)))
    return ArticleMediaOut(
        article=ArticleOut(
            external_id=article.external_id, url=article.url, title=article.title, published_at=article.published_at
        ),
        items=[media_item_out(item) for item in items],
    )


@router.get("/articles/media", response={200: ArticleMediaOut, **READ_ERRORS}, auth=OPTIONAL, tags=["articles"])
@decorate_view(fingerprinted(lambda request, **_: article_state(url=request.GET.get("url", ""))))
@cached_get
def article_media_by_url(request: HttpRequest, url: Annotated[str, Field(max_length=1000)]) -> ArticleMediaOut:
    """The media of the article at ``url`` (the news site's page address), in editorial order."""
    return _article_media(request, Article.objects.filter(url=url).first())


class ArticleLookupIn(Schema):
    url: Annotated[str, Field(min_length=1, max_length=1000)]


@router.post("/articles/lookup", response={200: ArticleMediaOut, **READ_ERRORS}, auth=OPTIONAL, tags=["articles"])
def article_media_by_url_post(request: HttpRequest, payload: ArticleLookupIn) -> ArticleMediaOut:
    """The same as ``GET /articles/media?url=``, for addresses too long for a query string (percent-encoded
    Cyrillic takes six bytes a letter)."""
    return _article_media(request, Article.objects.filter(url=payload.url).first())


@router.get(
    "/articles/{external_id}/media", response={200: ArticleMediaOut, **READ_ERRORS}, auth=OPTIONAL, tags=["articles"]
)
@decorate_view(fingerprinted(lambda request, external_id, **_: article_state(external_id=external_id)))
@cached_get
def article_media(request: HttpRequest, external_id: str) -> ArticleMediaOut:
    """The videos and episodes linked to an article, in editorial order, ready to render.

    Anonymous responses are reused while the article's fingerprint is unchanged (episodes.response_cache).
    """
    return _article_media(request, Article.objects.filter(external_id=external_id).first())
