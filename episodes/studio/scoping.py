"""Producers see and change only their own shows' rows; staff keep Django's model permissions (all rows).

A ``ModelAdmin`` mixes in ``ShowScoped`` and names the path from its model to the show (``show_path``). For a
producer (not staff) the changelist, change page and autocomplete are filtered to shows they are a member of,
and view/change/add/delete are decided by that membership, not by Django's per-model permission rows.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest

from episodes.models import Show
from episodes.services.permissions import is_staff


def member_q(user: Any, show_path: str) -> Q:
    """Rows whose show (reached by ``show_path``, "" for the show itself) ``user`` is a member of."""
    ids = Show.objects.filter(members=user).values("pk")
    return Q(pk__in=ids) if not show_path else Q(**{f"{show_path}__in": ids})


class ShowScoped:
    """Mixin for ``ModelAdmin``: producer scoping by show membership."""

    show_path: str = "show"  # e.g. "show", "" (Show itself), "source__episode__show"
    extra_show_paths: tuple[str, ...] = ()  # rows owned by either an episode or a video
    producer_can_add = True
    producer_can_delete = True
    producer_can_change = True

    def producer_q(self, user: Any) -> Q:
        q = member_q(user, self.show_path)
        for path in self.extra_show_paths:
            q |= member_q(user, path)
        return q

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs: QuerySet[Any] = super().get_queryset(request)  # type: ignore[misc]
        if is_staff(request.user):
            return qs
        return qs.filter(self.producer_q(request.user))

    def _own(self, request: HttpRequest, obj: Any) -> bool:
        if obj is None:
            return True  # the changelist itself: its rows are filtered by get_queryset
        return type(obj)._default_manager.filter(self.producer_q(request.user), pk=obj.pk).exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        if is_staff(request.user):
            return bool(super().has_module_permission(request))  # type: ignore[misc]
        return request.user.is_active

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_staff(request.user):
            return bool(super().has_view_permission(request, obj))  # type: ignore[misc]
        return self._own(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_staff(request.user):
            return bool(super().has_change_permission(request, obj))  # type: ignore[misc]
        return self.producer_can_change and self._own(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if is_staff(request.user):
            return bool(super().has_add_permission(request, *args))  # type: ignore[misc]
        return self.producer_can_add

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_staff(request.user):
            return bool(super().has_delete_permission(request, obj))  # type: ignore[misc]
        return self.producer_can_delete and self._own(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "show" and not is_staff(request.user):
            kwargs["queryset"] = Show.objects.filter(members=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class ParentScopedInline:
    """Inline mixin: a producer who may open the parent may edit its inline rows (the parent is scoped)."""

    producer_read_only = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_staff(request.user):
            return bool(super().has_view_permission(request, obj))  # type: ignore[misc]
        return True

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_staff(request.user):
            return bool(super().has_change_permission(request, obj))  # type: ignore[misc]
        return not self.producer_read_only

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_staff(request.user):
            return bool(super().has_add_permission(request, obj))  # type: ignore[misc]
        return not self.producer_read_only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_staff(request.user):
            return bool(super().has_delete_permission(request, obj))  # type: ignore[misc]
        return not self.producer_read_only


class SharedForProducers:
    """Mixin for shared lookup rows (people): any producer may view, add and change them, not delete."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(is_staff(request.user) and super().has_module_permission(request)) or (  # type: ignore[misc]
            not is_staff(request.user) and request.user.is_active
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_staff(request.user):
            return bool(super().has_view_permission(request, obj))  # type: ignore[misc]
        return True

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_staff(request.user):
            return bool(super().has_change_permission(request, obj))  # type: ignore[misc]
        return True

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if is_staff(request.user):
            return bool(super().has_add_permission(request, *args))  # type: ignore[misc]
        return True
