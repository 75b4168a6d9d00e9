"""News articles and the editorial order of the media linked to them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction

from episodes.models import Article, ArticleEpisode, ArticleVideo, Episode, Video

from .common import validate_and_save
from .errors import InvalidInput


def article_upsert(
    *, external_id: str, url: str, title: str = "", published_at: datetime | None = None
) -> tuple[Article, bool]:
    """Create or update the article the CMS knows as ``external_id``; returns (article, created)."""
    external_id = external_id.strip()
    if not external_id:
        raise InvalidInput("external_id: The CMS id is required.", fields={"external_id": ["Required."]})
    with transaction.atomic():
        article = Article.objects.select_for_update().filter(external_id=external_id).first()
        created = article is None
        if article is None:
            article = Article(external_id=external_id)
        article.url = url
        article.title = title
        article.published_at = published_at
        validate_and_save(article)
    return article, created


def article_link_media(*, article: Article, items: Sequence[Episode | Video]) -> None:
    """Set the article's media to exactly ``items``, in that (editorial) order."""
    seen: set[tuple[str, int]] = set()
    for item in items:
        key = (type(item).__name__, item.pk)
        if key in seen:
            raise InvalidInput(f"{item} is listed twice.")
        seen.add(key)
    with transaction.atomic():
        Article.objects.select_for_update().filter(pk=article.pk).first()
        ArticleEpisode.objects.filter(article=article).delete()
        ArticleVideo.objects.filter(article=article).delete()
        for position, item in enumerate(items):
            if isinstance(item, Episode):
                ArticleEpisode.objects.create(article=article, episode=item, position=position)
            else:
                ArticleVideo.objects.create(article=article, video=item, position=position)


def article_unlink_media(*, article: Article, item: Episode | Video) -> None:
    if isinstance(item, Episode):
        ArticleEpisode.objects.filter(article=article, episode=item).delete()
    else:
        ArticleVideo.objects.filter(article=article, video=item).delete()
