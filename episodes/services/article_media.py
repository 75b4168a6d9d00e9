"""Articles and their media on a caller's behalf: permission-aware wrappers of ``articles``.

The policy (README, *Who may change articles*):
- The article record (URL, title, date) belongs to staff and the CMS integration (``can_manage_articles``). A
  producer may create an article the CMS has not sent yet, but not change one that exists.
- Producers link, unlink and order only their own shows' media. Another show's links keep their places: a
  producer's list fills the slots their own shows' media held, in the order given, and new ones go at the end.
- Staff and the CMS order everything they can see; links to media they cannot see (drafts) are kept after them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q

from episodes.models import Article, ArticleEpisode, ArticleVideo, Episode, Show, Video
from episodes.selectors import article_media_items

from .articles import article_link_media, article_unlink_media, article_upsert
from .errors import Forbidden, NotFound
from .permissions import can_manage_articles, item_for_read, item_for_write, visible_q

MODELS: dict[str, type[Episode] | type[Video]] = {"episode": Episode, "video": Video}


def article_save(
    *, external_id: str, url: str, title: str, published_at: datetime | None, user: Any
) -> tuple[Article, bool]:
    """Create or update an article; changing an existing one is for staff and the CMS integration only."""
    if not can_manage_articles(user) and Article.objects.filter(external_id=external_id.strip()).exists():
        raise Forbidden(
            "Only staff or the CMS integration can change an article; producers link and unlink their own "
            "shows' media on it."
        )
    return article_upsert(external_id=external_id, url=url, title=title, published_at=published_at)


def media_ref_resolve(*, kind: str, pk: int, user: Any) -> Episode | Video:
    """An item the caller may link or unlink: any they can see (staff, CMS), else only their own shows' (403)."""
    if can_manage_articles(user):
        return item_for_read(MODELS[kind], pk, user)
    return item_for_write(MODELS[kind], pk, user)


def _all_linked(article: Article) -> list[Episode | Video]:
    return article_media_items(article=article, where=Q())


def article_media_set(*, article: Article, refs: list[tuple[str, int]], user: Any) -> None:
    """Make the caller's media on ``article`` exactly ``refs``, in that order (see the module's policy)."""
    items = [media_ref_resolve(kind=kind, pk=pk, user=user) for kind, pk in refs]
    current = _all_linked(article)
    if can_manage_articles(user):
        seen_visible = {(type(i).__name__, i.pk) for i in article_media_items(article=article, where=visible_q(user))}
        hidden = [i for i in current if (type(i).__name__, i.pk) not in seen_visible]
        article_link_media(article=article, items=items + hidden)
        return
    own_shows = set(Show.objects.filter(members=user).values_list("pk", flat=True))
    mine = iter(items)
    merged: list[Episode | Video] = []
    for item in current:
        if item.show_id not in own_shows:
            merged.append(item)  # another show's link keeps its slot
        elif (replacement := next(mine, None)) is not None:
            merged.append(replacement)
    article_link_media(article=article, items=merged + list(mine))


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
