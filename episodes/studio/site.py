"""The admin site: staff as usual, plus producers (active members of a show) who are not staff."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest


def is_producer(user: Any) -> bool:
    """An active user who is a member of at least one show."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    cached = getattr(user, "_studio_is_producer", None)
    if cached is None:
        cached = user.shows.exists()
        user._studio_is_producer = cached
    return bool(cached)


class StudioLoginForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user: Any) -> None:
        if user.is_active and (user.is_staff or is_producer(user)):
            return
        raise ValidationError(
            "This account is not a member of any show yet; ask an editor to add you to one.", code="inactive"
        )


class StudioAdminSite(AdminSite):
    site_header = "Media Hub"
    site_title = "Media Hub"
    index_title = "Shows, episodes and explainer videos"
    login_form = StudioLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_staff or is_producer(user)))
