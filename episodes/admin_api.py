"""Admin for API tokens (create one, see it once, revoke it) and a read-only view of upload sessions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from episodes.models import ApiToken, UploadSession
from episodes.services.tokens import api_token_create, api_token_revoke


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name", "revoked_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["user", "name"]
        return ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = api_token_create(user=obj.user, name=obj.name)
        obj.pk, obj.prefix, obj.token_hash, obj.created_at = token.pk, token.prefix, token.token_hash, token.created_at
        self.message_user(
            request,
            f"Token for {token.user}: {raw} — copy it now; it is stored hashed and will not be shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token)
        self.message_user(request, "Revoked.", messages.SUCCESS)


@admin.register(UploadSession)
class UploadSessionAdmin(admin.ModelAdmin):
    list_display = ["filename", "user", "backend", "state", "byte_size", "created_at", "expires_at"]
    list_filter = ["state", "backend"]
    search_fields = ["filename", "user__username"]
    readonly_fields = [f.name for f in UploadSession._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[UploadSession]:
        qs = super().get_queryset(request)
        return qs if request.user.is_staff else qs.filter(user=request.user)  # a producer's own uploads

    def has_module_permission(self, request: HttpRequest) -> bool:
        if request.user.is_staff:
            return bool(super().has_module_permission(request))
        return bool(request.user.is_active)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_staff:
            return bool(super().has_view_permission(request, obj))
        return obj is None or obj.user_id == request.user.pk

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
