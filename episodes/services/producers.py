"""Accounts for the API: a show's producer, or the CMS integration, each with a fresh API token.

user, raw = producer_create(username="olena", show=show, token_name="uploader")
user, raw = cms_integration_create(username="cms", token_name="cms-sync")
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction

from episodes.models import Show

from .errors import InvalidInput
from .permissions import ARTICLE_PERMISSION
from .tokens import api_token_create


def _user(username: str) -> Any:
    username = username.strip()
    if not username:
        raise InvalidInput("username: Required.", fields={"username": ["Required."]})
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()  # API only; an admin can set a password later
        user.save()
    if not user.is_active:
        raise InvalidInput(f"username: {username} is deactivated.", fields={"username": ["Deactivated."]})
    return user


def producer_create(*, username: str, show: Show, token_name: str) -> tuple[Any, str]:
    """Make ``username`` (created if new) a producer of ``show`` and give them a new token; returns (user, raw)."""
    with transaction.atomic():
        user = _user(username)
        show.members.add(user)
        return user, api_token_create(user=user, name=token_name)[1]


def cms_integration_create(*, username: str, token_name: str) -> tuple[Any, str]:
    """An account for the CMS: it may write article records and order all of an article's media."""
    app_label, codename = ARTICLE_PERMISSION.split(".")
    with transaction.atomic():
        user = _user(username)
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return user, api_token_create(user=user, name=token_name)[1]
