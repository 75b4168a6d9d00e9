"""The producer UI: shows, episodes, videos, articles, with processing status and read-only renditions."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.html import format_html

from episodes.models import (
    Article,
    ArticleEpisode,
    ArticleVideo,
    Episode,
    EpisodePerson,
    MediaSource,
    Person,
    ProcessingJob,
    Rendition,
    Show,
    ShowPerson,
    Transcript,
    Video,
)
from episodes.selectors import job_chunk_progress, latest_job
from episodes.services import content as content_services
from episodes.services.errors import DomainError
from episodes.services.readiness import show_checks
from episodes.services.retagging import tags_schedule, tags_schedule_show
from episodes.services.uploads import media_reprocess, media_source_create
from episodes.services.video_episode import video_make_episode
from episodes.studio import clips as studio_clips
from episodes.studio import uploads as studio_uploads
from episodes.studio import views as studio_views
from episodes.studio.forms import CreditForm, EpisodeForm, MediaUploadForm, ShowForm
from episodes.studio.panel import panel_context
from episodes.studio.scoping import ParentScopedInline, SharedForProducers, ShowScoped


class ShowPersonInline(ParentScopedInline, admin.TabularInline):
    model = ShowPerson
    form = CreditForm
    extra = 0
    autocomplete_fields = ["person"]


class EpisodePersonInline(ParentScopedInline, admin.TabularInline):
    model = EpisodePerson
    form = CreditForm
    extra = 0
    autocomplete_fields = ["person"]


class RenditionInline(ParentScopedInline, admin.TabularInline):
    model = Rendition
    extra = 0
    can_delete = False
    fields = ("kind", "variant", "mime_type", "codecs", "bitrate", "width", "height", "duration", "byte_size")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TranscriptInline(ParentScopedInline, admin.TabularInline):
    model = Transcript
    extra = 0
    fields = ("language", "format", "storage_key", "byte_size")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _job_summary(job: ProcessingJob | None) -> str:
    if job is None:
        return "—"
    if job.state == ProcessingJob.State.FAILED:
        return format_html(
            '<span style="color:#b00">Failed while {}: {}</span>', job.get_stage_display().lower(),
            job.error or "unknown error",
        )  # fmt: skip
    if job.state == ProcessingJob.State.SUCCEEDED:
        return "Done"
    chunks = job_chunk_progress(job)
    if chunks is not None:
        return format_html(
            '{} <progress max="100" value="{}"></progress> {}% (chunks {}/{})', job.get_stage_display(),
            job.progress, job.progress, chunks["done"], chunks["total"],
        )  # fmt: skip
    return format_html(
        '{} <progress max="100" value="{}"></progress> {}%', job.get_stage_display(), job.progress, job.progress
    )


class PublishingAdmin(ShowScoped, admin.ModelAdmin):
    """Shared upload, publish, unpublish and re-process actions that go through the services, and the studio
    panel (checklist, live status, publish buttons, preview, files, transcripts) on the edit page."""

    form = MediaUploadForm
    actions = ["publish_now", "unpublish", "reprocess"]
    change_form_template = "studio/change_form.html"
    change_list_template = "studio/change_list.html"
    exclude = ["publish_when_ready", "publish_problem"]  # set by the studio's publish buttons, shown in its panel

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # The panel reads renditions and transcripts from these prefetches: a constant number of queries.
        return super().get_queryset(request).select_related("show").prefetch_related("renditions", "transcripts")

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Sequence[str]]:
        return {} if obj else {"slug": ("title",)}  # a missing slug must not cost the producer their chosen file

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        # The file is chosen on the edit page, where it is sent at once in parts: a form error never drops it.
        return [f for f in fields if f != "upload"] if obj is None else fields

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        extra = {**(extra_context or {}), "subtitle": "Save it, then upload the media file on the next page."}
        return super().add_view(request, form_url, extra)

    def get_urls(self) -> list[URLPattern]:
        name = self.model._meta.model_name
        wrap = self.admin_site.admin_view

        def bind(view: Any) -> Any:
            return wrap(lambda request, **kw: view(request, self, **kw))

        studio = [
            path("studio/calendar/", wrap(lambda request: studio_views.calendar_view(request, self)),
                 name=f"episodes_{name}_studio_calendar"),
            path("<path:pk>/studio/status.json", bind(studio_views.status_view), name=f"episodes_{name}_studio_status"),
            path("<path:pk>/studio/publish/", bind(studio_views.publish_view), name=f"episodes_{name}_studio_publish"),
            path("<path:pk>/studio/transcripts/", bind(studio_views.transcript_view),
                 name=f"episodes_{name}_studio_transcript"),
            path("<path:pk>/studio/transcripts/<str:language>/<str:fmt>/delete/",
                 bind(studio_views.transcript_delete_view), name=f"episodes_{name}_studio_transcript_delete"),
            path("<path:pk>/studio/file/<int:rendition_id>", bind(studio_views.file_view),
                 name=f"episodes_{name}_studio_file"),
            path("<path:pk>/studio/hls/<path:name>", bind(studio_views.hls_view), name=f"episodes_{name}_studio_hls"),
            path("<path:pk>/studio/clips/", bind(studio_clips.clip_request_view), name=f"episodes_{name}_studio_clips"),
            path("<path:pk>/studio/stats/", bind(partial(studio_views.stats_view, show_level=False)),
                 name=f"episodes_{name}_studio_stats"),
            path("<path:pk>/studio/uploads/", bind(studio_uploads.upload_start_view),
                 name=f"episodes_{name}_studio_upload"),
            path("<path:pk>/studio/uploads/<uuid:session_id>/parts/<int:number>/",
                 bind(studio_uploads.upload_part_view), name=f"episodes_{name}_studio_upload_part"),
            path("<path:pk>/studio/uploads/<uuid:session_id>/complete/", bind(studio_uploads.upload_complete_view),
                 name=f"episodes_{name}_studio_upload_complete"),
        ]  # fmt: skip
        return studio + super().get_urls()

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: Any = None,
    ) -> HttpResponse:  # fmt: skip
        if obj is not None and obj.pk:
            context["studio"] = panel_context(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            tags_schedule(owner=obj)  # the files' tags follow the edit (episodes.services.retagging)
        upload = form.cleaned_data.get("upload")
        if upload:
            try:
                media_source_create(
                    owner=obj, file=upload, filename=upload.name, content_type=upload.content_type or ""
                )
                self.message_user(request, f"“{upload.name}” was uploaded and is being processed.", messages.INFO)
            except DomainError as exc:
                self.message_user(request, f"The upload was not accepted: {exc.message}", messages.ERROR)

    @admin.action(description="Re-process media")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._each(request, queryset, lambda obj: media_reprocess(owner=obj), "queued for re-processing")

    def _each(self, request: HttpRequest, queryset: QuerySet[Any], action: Any, done: str) -> None:
        ok = 0
        for obj in queryset:
            try:
                action(obj)
                ok += 1
            except DomainError as exc:
                self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
        if ok:
            self.message_user(request, f"{ok} {done}.", messages.SUCCESS)

    @admin.display(description="Processing")
    def processing(self, obj: Episode | Video) -> str:
        if isinstance(obj, Episode):
            return _job_summary(latest_job(episode=obj))
        return _job_summary(latest_job(video=obj))


@admin.register(Show)
class ShowAdmin(ShowScoped, admin.ModelAdmin):
    form = ShowForm
    show_path = ""
    producer_can_add = False  # shows are created by staff, who add producers as members
    producer_can_delete = False
    list_display = ["title", "slug", "language", "medium", "explicit", "locked"]
    search_fields = ["title", "slug", "author"]
    list_filter = ["language", "medium", "explicit"]
    readonly_fields = ["podcast_guid", "created_at", "updated_at"]
    filter_horizontal = ["members"]
    inlines = [ShowPersonInline]

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Sequence[str]]:
        return {} if obj else {"slug": ("title",)}

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            tags_schedule_show(show=obj)  # title, author and cover are in every file's tags

    change_form_template = "studio/show_change_form.html"

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: Any = None,
    ) -> HttpResponse:  # fmt: skip
        if obj is not None and obj.pk:
            context["studio_checks"] = show_checks(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[URLPattern]:
        stats = self.admin_site.admin_view(lambda request, pk: studio_views.stats_view(request, self, pk,
                                                                                        show_level=True))  # fmt: skip
        return [path("<path:pk>/studio/stats/", stats, name="episodes_show_studio_stats"), *super().get_urls()]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = [str(f) for f in super().get_readonly_fields(request, obj)]
        return fields if request.user.is_staff else [*fields, "members"]  # staff decide who works on a show


@admin.register(Episode)
class EpisodeAdmin(PublishingAdmin):
    form = EpisodeForm
    list_display = ["title", "show", "number", "status", "publish_at", "processing"]
    list_filter = ["status", "show", "episode_type"]
    search_fields = ["title", "summary", "guid", "slug"]
    date_hierarchy = "publish_at"
    readonly_fields = ["status", "publish_at", "first_published_at", "processing", "created_at", "updated_at"]
    inlines = [EpisodePersonInline, RenditionInline, TranscriptInline]
    list_select_related = ["show"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = [str(f) for f in super().get_readonly_fields(request, obj)]
        if obj is not None and obj.first_published_at:
            fields.append("guid")  # a published GUID never changes
        return fields

    @admin.action(description="Publish now")
    def publish_now(self, request: HttpRequest, queryset: QuerySet[Episode]) -> None:
        self._each(request, queryset, lambda e: content_services.episode_publish(episode=e), "published")

    @admin.action(description="Unpublish")
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Episode]) -> None:
        self._each(request, queryset, lambda e: content_services.episode_unpublish(episode=e), "unpublished")


@admin.register(Video)
class VideoAdmin(PublishingAdmin):
    list_display = ["title", "show", "status", "publish_at", "processing"]
    list_filter = ["status", "show"]
    search_fields = ["title", "description", "slug"]
    readonly_fields = ["status", "publish_at", "first_published_at", "guid", "processing", "created_at"]
    inlines = [RenditionInline, TranscriptInline]
    list_select_related = ["show"]

    actions = ["publish_now", "unpublish", "reprocess", "make_episode"]

    @admin.action(description="Publish now")
    def publish_now(self, request: HttpRequest, queryset: QuerySet[Video]) -> None:
        self._each(request, queryset, lambda v: content_services.video_publish(video=v), "published")

    @admin.action(description="Make a podcast episode from its sound")
    def make_episode(self, request: HttpRequest, queryset: QuerySet[Video]) -> None:
        self._each(request, queryset, lambda v: video_make_episode(video=v), "turned into episodes (processing)")

    @admin.action(description="Unpublish")
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Video]) -> None:
        self._each(request, queryset, lambda v: content_services.video_unpublish(video=v), "unpublished")


class ArticleEpisodeInline(admin.TabularInline):
    model = ArticleEpisode
    extra = 0
    autocomplete_fields = ["episode"]


class ArticleVideoInline(admin.TabularInline):
    model = ArticleVideo
    extra = 0
    autocomplete_fields = ["video"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "external_id", "url", "published_at"]
    search_fields = ["title", "external_id", "url"]
    inlines = [ArticleVideoInline, ArticleEpisodeInline]


@admin.register(Person)
class PersonAdmin(SharedForProducers, admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(MediaSource)
class MediaSourceAdmin(ShowScoped, admin.ModelAdmin):
    show_path = "episode__show"
    extra_show_paths = ("video__show",)
    producer_can_add = producer_can_change = producer_can_delete = False
    list_display = ["original_filename", "kind", "byte_size", "duration", "episode", "video", "created_at"]
    list_filter = ["kind"]
    search_fields = ["original_filename", "sha256"]
    readonly_fields = [f.name for f in MediaSource._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ProcessingJob)
class ProcessingJobAdmin(ShowScoped, admin.ModelAdmin):
    show_path = "source__episode__show"
    extra_show_paths = ("source__video__show",)
    producer_can_add = producer_can_change = producer_can_delete = False
    list_display = ["id", "source", "state", "stage", "progress", "attempts", "heartbeat_at", "error"]
    list_filter = ["state", "stage"]
    search_fields = ["error", "source__original_filename"]
    readonly_fields = [f.name for f in ProcessingJob._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


from episodes import admin_api  # noqa: E402,F401
