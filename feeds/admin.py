"""Download counts in the admin: daily counts per episode and app, and the raw (pruned) listener windows."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from feeds.models import DailyDownloads, ListenerWindow, WebSubCursor, WebSubPing


class ReadOnlyAdmin(admin.ModelAdmin):
    """Counts are written by the delivery endpoint only; the admin shows them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DailyDownloads)
class DailyDownloadsAdmin(ReadOnlyAdmin):
    list_display = ["day", "show", "episode", "video", "app", "platform", "downloads"]
    list_filter = ["show", "app", "day"]
    date_hierarchy = "day"
    search_fields = ["episode__title", "video__title", "show__title"]
    list_select_related = ["show", "episode", "video"]


@admin.register(ListenerWindow)
class ListenerWindowAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "listener", "target", "app", "platform", "bytes_fetched", "counted_at", "last_seen"]
    list_filter = ["app", "day"]
    date_hierarchy = "started_at"


@admin.register(WebSubCursor)
class WebSubCursorAdmin(ReadOnlyAdmin):
    list_display = ["name", "scanned_until"]


@admin.register(WebSubPing)
class WebSubPingAdmin(ReadOnlyAdmin):
    list_display = ["show", "requested_at", "due_at", "attempts", "last_error", "announced_at"]
    list_select_related = ["show"]
