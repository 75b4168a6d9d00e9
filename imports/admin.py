"""Imports in the admin: start one from a URL or an uploaded feed, and watch each item's progress."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from imports.models import ImportItem, ImportJob
from imports.services import import_create


class ImportForm(forms.ModelForm):
    upload = forms.FileField(required=False, help_text="…or upload the feed's XML")

    class Meta:
        model = ImportJob
        fields = ("source_url", "show")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("source_url")) == bool(data.get("upload")):
            raise forms.ValidationError("Give a feed URL or upload a feed document (one of them).")
        return data


class ItemInline(admin.TabularInline):
    model = ImportItem
    extra = 0
    can_delete = False
    fields = ("title", "guid", "state", "bytes_done", "bytes_total", "attempts", "error", "episode")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "source_url", "show", "state", "items_seen", "items_new", "error")
    list_filter = ("state",)
    inlines = (ItemInline,)

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return (ItemInline,) if obj is not None else ()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            return ImportForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return ("source_url", "show", "state", "error", "warnings_list", "items_seen", "items_new", "etag",
                "created_at")  # fmt: skip

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("document", "sent_at", "last_modified", "warnings") if obj is not None else None

    @admin.display(description="warnings")
    def warnings_list(self, job: ImportJob) -> str:
        """What was skipped (e.g. artwork Apple refuses), one line each."""
        if not job.warnings:
            return "–"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((w,) for w in job.warnings)))

    def save_model(self, request: HttpRequest, obj: ImportJob, form: Any, change: bool) -> None:
        if change:
            return
        upload = form.cleaned_data.get("upload")
        created = import_create(url=obj.source_url or "", document=upload.read() if upload else b"", show=obj.show)
        obj.pk = created.pk
        obj.refresh_from_db()
