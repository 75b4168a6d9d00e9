"""Who may see and change what.

Staff may do everything. A producer acts on the shows they are a member of (``Show.members``). Anything not
live (drafts, processing, scheduled, unpublished) exists only for those two: everyone else gets ``NotFound``,
exactly as for an id that was never used, so a 404 never tells whether a draft exists. ``Forbidden`` is only
raised about things the caller can already see.
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

from django.db.models import Q, QuerySet

from episodes.models import Episode, Show, UploadSession, Video
from episodes.selectors import is_live_q

from .errors import Forbidden, NotFound

M = TypeVar("M", Episode, Video)


def is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_staff)


def member_show_ids_q(user: Any, prefix: str = "show__") -> Q:
    """Rows whose show ``user`` is a member of (``prefix`` leads from the row to its show)."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    return Q(**{f"{prefix}members": user})


def visible_q(user: Any) -> Q:
    """Episodes or videos ``user`` may read: live ones, plus all of their shows' (everything for staff)."""
    if is_staff(user):
        return Q()
    if not getattr(user, "is_authenticated", False):
        return is_live_q()
    member_ids = Show.objects.filter(members=user).values("pk")
    return is_live_q() | Q(show_id__in=member_ids)


def visible(qs: QuerySet[M], user: Any) -> QuerySet[M]:
    return qs.filter(visible_q(user))


def can_edit_show(user: Any, show: Show) -> bool:
    if is_staff(user):
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    return show.members.filter(pk=user.pk).exists()


def require_show_editor(user: Any, show: Show) -> None:
    if not can_edit_show(user, show):
        raise Forbidden("You are not a member of this show.")


# Staff, or the CMS integration's account (``manage.py create_producer cms --cms``): they own article records and
# the order of every show's media on an article. Producers link, unlink and order only their own shows' media.
ARTICLE_PERMISSION = "episodes.change_article"


def can_manage_articles(user: Any) -> bool:
    return is_staff(user) or bool(
        getattr(user, "is_authenticated", False) and user.is_active and user.has_perm(ARTICLE_PERMISSION)
    )


def require_staff(user: Any) -> None:
    if not is_staff(user):
        raise Forbidden("Only staff can do this.")


@overload
def item_for_read(model: type[Episode], pk: int, user: Any) -> Episode: ...
@overload
def item_for_read(model: type[Video], pk: int, user: Any) -> Video: ...
@overload
def item_for_read(model: type[Episode] | type[Video], pk: int, user: Any) -> Episode | Video: ...
def item_for_read(model: type[Episode] | type[Video], pk: int, user: Any) -> Episode | Video:
    qs: QuerySet[Any] = model.objects.select_related("show")
    item = qs.filter(visible_q(user), pk=pk).first()
    if item is None:
        raise NotFound(f"No {model._meta.verbose_name} with id {pk}.")
    return item


@overload
def item_for_write(model: type[Episode], pk: int, user: Any) -> Episode: ...
@overload
def item_for_write(model: type[Video], pk: int, user: Any) -> Video: ...
@overload
def item_for_write(model: type[Episode] | type[Video], pk: int, user: Any) -> Episode | Video: ...
def item_for_write(model: type[Episode] | type[Video], pk: int, user: Any) -> Episode | Video:
    """The item if ``user`` may change it; 404 when they cannot even see it, 403 when they only can see it."""
    item = item_for_read(model, pk, user)
    require_show_editor(user, item.show)
    return item


def upload_for_user(session_id: Any, user: Any) -> UploadSession:
    """An upload session is visible to the producer who started it and to staff only."""
    qs = UploadSession.objects.select_related("episode__show", "video__show")
    if not is_staff(user):
        qs = qs.filter(user=user) if getattr(user, "is_authenticated", False) else qs.none()
    session = qs.filter(pk=session_id).first()
    if session is None:
        raise NotFound("No upload with this id.")
    return session
