"""Social clips in the producer admin: listed with state and progress, downloadable; made from the API or here."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from episodes.models import SoundbiteClip
from episodes.studio.scoping import ShowScoped


@admin.register(SoundbiteClip)
class SoundbiteClipAdmin(ShowScoped, admin.ModelAdmin):
    show_path = "episode__show"  # producers see their own shows' clips (episodes.studio.scoping)
    producer_can_add = False
    list_display = ("title", "episode", "format", "state", "progress_percent", "created_at", "download")
    list_filter = ("state", "format")
    search_fields = ("title", "episode__title")
    readonly_fields = ("episode", "start", "duration", "title", "format", "state", "progress", "storage_key",
                       "byte_size", "error", "created_at", "updated_at")  # fmt: skip

    def has_add_permission(self, request: object) -> bool:
        return False  # clips are requested from a soundbite (POST /api/v1/episodes/{id}/clips)

    @admin.display(description="progress")
    def progress_percent(self, clip: SoundbiteClip) -> str:
        return f"{clip.progress * 100:.0f} %"

    @admin.display(description="file")
    def download(self, clip: SoundbiteClip) -> str:
        if clip.state != SoundbiteClip.State.SUCCEEDED:
            return "–"
        return format_html('<a href="/api/v1/clips/{}/download">download MP4</a>', clip.pk)
