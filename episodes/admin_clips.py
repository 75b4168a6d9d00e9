"""Social clips in the producer admin: listed with state and progress, downloadable, made again when they failed.

Clips are requested from a soundbite on the episode's edit page (episodes.studio.clips) or through the API
(POST /api/v1/episodes/{id}/clips); the download and "make again" views here use the admin's session and its
producer scoping, so a producer reaches only their own shows' clips.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from episodes.models import SoundbiteClip
from episodes.services.clips import clip_retry
from episodes.services.errors import DomainError
from episodes.storage_urls import presigned_get_url
from episodes.studio.scoping import ShowScoped
from feeds.delivery import content_disposition


@admin.register(SoundbiteClip)
class SoundbiteClipAdmin(ShowScoped, admin.ModelAdmin):
    show_path = "episode__show"  # producers see their own shows' clips (episodes.studio.scoping)
    producer_can_add = False
    list_display = ("title", "episode", "format", "state", "progress_percent", "created_at", "download")
    list_filter = ("state", "format")
    search_fields = ("title", "episode__title")
    readonly_fields = ("episode", "start", "duration", "title", "format", "state", "progress", "attempts", "error",
                       "byte_size", "created_at", "updated_at")  # fmt: skip
    exclude = ("storage_key", "sent_at", "lease_owner", "lease_expires_at")

    def has_add_permission(self, request: object) -> bool:
        return False  # clips are requested from a soundbite (the episode's page, or POST /api/v1/episodes/{id}/clips)

    @admin.display(description="progress")
    def progress_percent(self, clip: SoundbiteClip) -> str:
        return f"{clip.progress * 100:.0f} %"

    @admin.display(description="file")
    def download(self, clip: SoundbiteClip) -> str:
        if clip.state == SoundbiteClip.State.FAILED:
            return format_html('<span title="{}">failed</span>', clip.error)
        if clip.state != SoundbiteClip.State.SUCCEEDED:
            return "–"
        return format_html('<a href="{}">download MP4</a>', reverse("admin:episodes_soundbiteclip_download",
                                                                    args=[clip.pk]))  # fmt: skip

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/download/", wrap(self.download_view), name="episodes_soundbiteclip_download"),
            path("<path:object_id>/retry/", wrap(self.retry_view), name="episodes_soundbiteclip_retry"),
            *super().get_urls(),
        ]

    def _clip(self, request: HttpRequest, object_id: str) -> SoundbiteClip:
        clip = self.get_object(request, object_id)  # producer-scoped queryset: another show's clip is a 404
        if clip is None or not self.has_view_permission(request, clip):
            raise Http404("No such clip.")
        return clip

    def download_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        clip = self._clip(request, object_id)
        if clip.state != SoundbiteClip.State.SUCCEEDED or not clip.storage_key:
            raise Http404("This clip is not ready.")
        name = f"{clip.episode.slug or 'clip'}-{clip.format}.mp4"
        if settings.S3_BUCKET:
            fallback = f"clip-{clip.pk}-{clip.format}"
            disposition = content_disposition(name, fallback=fallback).replace("inline", "attachment", 1)
            return HttpResponseRedirect(presigned_get_url(clip.storage_key, content_type="video/mp4",
                                                          content_disposition=disposition))  # fmt: skip
        response = FileResponse(default_storage.open(clip.storage_key, "rb"), as_attachment=True, filename=name,
                                content_type="video/mp4")  # fmt: skip
        response["Cache-Control"] = "private, no-cache"
        return response

    @staticmethod
    def _back(request: HttpRequest, clip: SoundbiteClip) -> str:
        target = request.POST.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            return target
        return reverse("admin:episodes_episode_change", args=[clip.episode_id]) + "#studio-clips"

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_POST(self._retry)(request, object_id)

    def _retry(self, request: HttpRequest, object_id: str) -> HttpResponse:
        clip = self._clip(request, object_id)
        if not self.has_change_permission(request, clip):
            raise Http404("No such clip.")
        try:
            clip_retry(clip=clip)
            messages.success(request, f"The clip “{clip.title}” is queued again.")
        except DomainError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(self._back(request, clip))
