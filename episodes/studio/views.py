"""The studio's own admin views for an episode or video: live status JSON, publishing, transcripts, re-process.

Each is mounted by the item's ``ModelAdmin.get_urls`` behind ``admin_view`` and finds the item through the
admin's own (producer-scoped) queryset, so another show's producer gets a 404 exactly like a missing id.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from episodes.models import Episode, Video
from episodes.selectors import latest_job
from episodes.services import publishing, transcripts, uploads
from episodes.services.errors import DomainError

MAX_TRANSCRIPT_UPLOAD = 5 * 1024 * 1024


class PublishForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(a, a) for a in ("now", "schedule", "unpublish", "when_ready", "cancel_when_ready", "reprocess")]
    )
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Date")
    at = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}), label="Time")


class TranscriptForm(forms.Form):
    language = forms.CharField(max_length=16, initial="en", help_text="BCP 47, e.g. en, uk, en-GB.")
    file = forms.FileField(label="WebVTT or SRT file", help_text=".vtt or .srt, UTF-8, up to 5 MB.")


def item_or_404(model_admin: admin.ModelAdmin[Any], request: HttpRequest, pk: str) -> Episode | Video:
    item = model_admin.get_object(request, pk)
    if item is None or not model_admin.has_change_permission(request, item):
        raise Http404("No such item.")
    return item


def change_url(item: Episode | Video) -> str:
    return reverse(f"admin:episodes_{item._meta.model_name}_change", args=[item.pk])


def status_payload(item: Episode | Video) -> dict[str, Any]:
    from .clips import LISTED, clip_payload

    job = latest_job(episode=item) if isinstance(item, Episode) else latest_job(video=item)
    clips = [clip_payload(c) for c in item.clips.all()[:LISTED]] if isinstance(item, Episode) else []
    return {
        "clips": clips,
        "status": item.status,
        "status_label": item.get_status_display(),
        "publish_when_ready": item.publish_when_ready,
        "publish_problem": item.publish_problem,
        "job": None if job is None else {
            "id": job.pk, "state": job.state, "stage": job.stage, "stage_label": job.get_stage_display(),
            "progress": job.progress, "error": job.error, "attempts": job.attempts,
        },
    }  # fmt: skip


def status_view(request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: str) -> JsonResponse:
    """Polled by the edit page every 2 s while something is processing."""
    response = JsonResponse(status_payload(item_or_404(model_admin, request, pk)))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def publish_view(request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: str) -> HttpResponse:
    item = item_or_404(model_admin, request, pk)
    form = PublishForm(request.POST)
    back = HttpResponseRedirect(change_url(item))
    if not form.is_valid():
        messages.error(request, "Choose what to do (publish, schedule, unpublish).")
        return back
    action = form.cleaned_data["action"]
    try:
        if action == "now":
            publishing.item_publish(item=item)
            messages.success(request, f"“{item}” is live.")
        elif action == "schedule":
            day: date | None = form.cleaned_data["day"]
            at: time | None = form.cleaned_data["at"]
            if day is None or at is None:
                messages.error(request, "Give a date and a time to schedule.")
                return back
            when = publishing.schedule_time(day=day, at=at, time_zone=item.show.time_zone)
            publishing.item_publish(item=item, publish_at=when)
            messages.success(request, f"“{item}” is scheduled for {when:%Y-%m-%d %H:%M} ({item.show.time_zone}).")
        elif action == "unpublish":
            publishing.item_unpublish(item=item)
            messages.success(request, f"“{item}” is no longer published.")
        elif action == "when_ready":
            fresh = publishing.item_publish_when_ready(item=item)
            if fresh.status == "published":
                messages.success(request, f"“{item}” was ready and is live now.")
            else:
                messages.success(request, f"“{item}” will go live as soon as processing succeeds.")
        elif action == "cancel_when_ready":
            type(item).objects.filter(pk=item.pk).update(publish_when_ready=False)
            messages.info(request, "It will not be published automatically.")
        elif action == "reprocess":
            uploads.media_reprocess(owner=item)
            messages.success(request, "The media is being processed again.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return back


@require_POST
def transcript_view(request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: str) -> HttpResponse:
    item = item_or_404(model_admin, request, pk)
    form = TranscriptForm(request.POST, request.FILES)
    back = HttpResponseRedirect(change_url(item) + "#studio-transcripts")
    if not form.is_valid():
        messages.error(request, "Choose a language and a .vtt or .srt file.")
        return back
    upload = form.cleaned_data["file"]
    name = upload.name.lower()
    fmt = "vtt" if name.endswith(".vtt") else "srt" if name.endswith(".srt") else ""
    if not fmt:
        messages.error(request, "A transcript must be a WebVTT (.vtt) or SubRip (.srt) file.")
        return back
    if upload.size > MAX_TRANSCRIPT_UPLOAD:
        messages.error(request, "A transcript may be at most 5 MB.")
        return back
    try:
        content = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        messages.error(request, "The transcript must be UTF-8 text.")
        return back
    try:
        transcripts.transcript_attach(owner=item, language=form.cleaned_data["language"], fmt=fmt, content=content)
    except DomainError as exc:
        messages.error(request, f"The transcript was not accepted: {exc.message}")
        return back
    messages.success(request, f"{fmt.upper()} transcript ({form.cleaned_data['language']}) attached.")
    return back


@require_POST
def transcript_delete_view(
    request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: str, language: str, fmt: str
) -> HttpResponse:
    item = item_or_404(model_admin, request, pk)
    try:
        transcripts.transcript_delete(owner=item, language=language, fmt=fmt)
        messages.success(request, f"The {fmt.upper()} transcript ({language}) was removed.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(change_url(item) + "#studio-transcripts")


def file_view(request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: str, rendition_id: str) -> HttpResponse:
    """A rendition's file for the producer's preview, drafts included (the public /d/ URLs serve live items only)."""
    from django.conf import settings
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from episodes.storage_urls import media_redirect_url
    from feeds.serving import serve_file

    item = item_or_404(model_admin, request, pk)
    rendition = item.renditions.filter(pk=rendition_id).first()
    if rendition is None:
        raise Http404("No such file.")
    if settings.S3_BUCKET:
        return HttpResponseRedirect(media_redirect_url(rendition.storage_key, content_type=rendition.mime_type))
    response, _ = serve_file(
        request,
        opener=lambda: default_storage.open(rendition.storage_key, "rb"),
        size=default_storage.size(rendition.storage_key),  # an HLS row's byte_size counts its whole ladder
        modified=rendition.created_at or timezone.now(),
        content_type=rendition.mime_type,
        etag=f'"{rendition.pk}-{rendition.byte_size}"',
        cache_control="private, no-cache",
    )
    return response  # type: ignore[return-value]


def stats_view(request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: str, *, show_level: bool) -> HttpResponse:
    """Downloads per day (90 days), by app and platform, first 7/30 days per episode, embed views;
    ``?csv=daily|apps|platforms|episodes``."""
    from django.template.response import TemplateResponse
    from django.utils import timezone

    from .stats import stats_context, stats_csv

    obj = model_admin.get_object(request, pk)
    if obj is None or not model_admin.has_view_permission(request, obj):
        raise Http404("No such item.")
    if not show_level and not isinstance(obj, Episode):
        raise Http404("Statistics are kept for shows and episodes.")
    show, episode = (obj, None) if show_level else (obj.show, obj)
    context = stats_context(show=show, episode=episode, today=timezone.now().date())
    what = request.GET.get("csv", "")
    if what in {"daily", "apps", "platforms", "episodes"}:
        name = f"{show.slug}{'-' + str(episode.pk) if episode else ''}-{what}.csv"
        response = HttpResponse(stats_csv(context, what), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return response
    context.update({**model_admin.admin_site.each_context(request), "title": f"Statistics: {obj}",
                    "opts": model_admin.model._meta, "obj": obj})  # fmt: skip
    return TemplateResponse(request, "studio/stats.html", context)


HLS_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".m4s": "video/iso.segment", ".mp4": "video/mp4",
             ".ts": "video/mp2t", ".aac": "audio/aac", ".vtt": "text/vtt"}  # fmt: skip


def hls_view(request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: str, name: str) -> HttpResponseBase:
    """The HLS ladder of a draft, for the studio's preview player (playlists and segments by relative path)."""
    import posixpath

    from django.conf import settings
    from django.core.files.storage import default_storage

    from episodes.storage_urls import media_redirect_url

    item = item_or_404(model_admin, request, pk)
    master = item.renditions.filter(kind="hls").first()
    suffix = posixpath.splitext(name)[1].lower()
    clean = posixpath.normpath(name)
    if master is None or suffix not in HLS_TYPES or clean.startswith(("..", "/")) or clean != name:
        raise Http404("No such file.")
    key = posixpath.join(posixpath.dirname(master.storage_key), clean)
    if settings.S3_BUCKET and suffix != ".m3u8":
        return HttpResponseRedirect(media_redirect_url(key, content_type=HLS_TYPES[suffix]))
    # Playlists are served from here even on S3: their URIs are relative, and resolved against a presigned URL
    # they would name unsigned (refused) objects; resolved against this view, each segment gets its own redirect.
    if not default_storage.exists(key):
        raise Http404("No such file.")
    from django.http import FileResponse

    response = FileResponse(default_storage.open(key, "rb"), content_type=HLS_TYPES[suffix])
    response["Cache-Control"] = "private, no-cache"
    return response


def calendar_view(request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> HttpResponse:
    """The publishing calendar (``?month=YYYY-MM``): every show the user may see, episodes and videos together;
    a constant number of queries whatever the month holds."""
    from django.template.response import TemplateResponse
    from django.utils import timezone

    from episodes.models import Status

    from .calendar import month_from_param, month_weeks, place_entries, shift_month, utc_bounds

    now = timezone.now()
    today = timezone.localdate(now)
    this_month = today.replace(day=1)
    first = month_from_param(request.GET.get("month", ""), today=this_month)
    if first is None:
        messages.error(request, "Write the month as YYYY-MM (years 2000–2100); this month is shown instead.")
        first = this_month
    weeks = month_weeks(first)
    start, end = utc_bounds(weeks)
    site = model_admin.admin_site
    placed: list[Episode | Video] = []
    waiting: list[Episode | Video] = []
    for model in (Episode, Video):
        # The admin's own queryset: a producer sees only their shows' items, staff everything.
        qs = site._registry[model].get_queryset(request).select_related("show").prefetch_related(None)
        placed += qs.filter(status=Status.PUBLISHED, publish_at__gte=start, publish_at__lt=end)
        waiting += qs.filter(publish_when_ready=True).exclude(status=Status.PUBLISHED).order_by("-id")[:50]
    days = place_entries(placed, weeks, now=now)
    context = {
        **site.each_context(request),
        "title": f"Publishing calendar: {first:%B %Y}",
        "opts": model_admin.model._meta,
        "month": first,
        "weeks": [[(day, days.get(day, [])) for day in week] for week in weeks],
        "today": today,
        "previous": f"{shift_month(first, -1):%Y-%m}",
        "next": f"{shift_month(first, 1):%Y-%m}",
        "this_month": f"{this_month:%Y-%m}",
        "scheduled": sum(
            e.state == "scheduled" for day, entries in days.items() if day.month == first.month for e in entries
        ),
        "waiting": [(item, change_url(item)) for item in waiting],
    }
    return TemplateResponse(request, "studio/calendar.html", context)
