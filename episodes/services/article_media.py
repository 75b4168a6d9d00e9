"""Linking media to articles on a producer's behalf: permission-aware wrappers of ``articles``.

A producer arranges what they can see. Links to media they cannot see (another show's drafts) are kept, after
the ones they arranged, so one desk's reordering never drops another desk's unpublished work.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from episodes.models import Article, ArticleEpisode, ArticleVideo, Episode, Video
from episodes.selectors import article_media_items

from .articles import article_link_media, article_unlink_media
from .errors import NotFound
from .permissions import item_for_read, visible_q

MODELS: dict[str, type[Episode] | type[Video]] = {"episode": Episode, "video": Video}


def media_ref_resolve(*, kind: str, pk: int, user: Any) -> Episode | Video:
    return item_for_read(MODELS[kind], pk, user)


def _all_linked(article: Article) -> list[Episode | Video]:
    return article_media_items(article=article, where=Q())


def article_media_set(*, article: Article, refs: list[tuple[str, int]], user: Any) -> None:
    """Make the caller's visible media exactly ``refs`` in that order; hidden links stay, after them."""
    items = [media_ref_resolve(kind=kind, pk=pk, user=user) for kind, pk in refs]
    visible = visible_q(user)
    seen_visible = {(type(i).__name__, i.pk) for i in article_media_items(article=article, where=visible)}
    hidden = [i for i in _all_linked(article) if (type(i).__name__, i.pk) not in seen_visible]
    article_link_media(article=article, items=items + hidden)


def article_media_insert(*, article: Article, kind: str, pk: int, position: int | None, user: Any) -> None:
    """Link one item at ``position`` (0-based, among all links; None = at the end); moving it if already linked."""
    item = media_ref_resolve(kind=kind, pk=pk, user=user)
    current = [i for i in _all_linked(article) if not (type(i) is type(item) and i.pk == item.pk)]
    at = len(current) if position is None else min(position, len(current))
    article_link_media(article=article, items=current[:at] + [item] + current[at:])


def article_media_remove(*, article: Article, kind: str, pk: int, user: Any) -> None:
    item = media_ref_resolve(kind=kind, pk=pk, user=user)
    link_model = ArticleEpisode if kind == "episode" else ArticleVideo
    if not link_model.objects.filter(article=article, **{kind: item}).exists():
        raise NotFound("This media is not linked to the article.")
    article_unlink_media(article=article, item=item)
