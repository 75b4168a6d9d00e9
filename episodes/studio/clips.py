"""Social clips on the episode's edit page: ask for a clip from a soundbite, watch it render, download it.

The request goes through ``episodes.services.clips`` (the row is the outbox; the worker renders under a lease);
the page lists the episode's clips with their state and progress, and the status JSON the page polls carries
them too, so a clip's progress moves in place.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from episodes.models import Episode, SoundbiteClip
from episodes.services.clips import clip_request
from episodes.services.errors import DomainError

from .views import change_url, item_or_404

FORMAT_CHOICES = {"vertical": ("vertical",), "square": ("square",), "both": ("vertical", "square")}
LISTED = 20  # the newest clips shown on the page


def clip_payload(clip: SoundbiteClip) -> dict[str, Any]:
    done = clip.state == SoundbiteClip.State.SUCCEEDED
    return {
        "id": clip.pk, "title": clip.title, "format": clip.format, "format_label": clip.get_format_display(),
        "start": clip.start, "duration": clip.duration, "state": clip.state, "progress": round(clip.progress * 100),
        "error": clip.error, "byte_size": clip.byte_size,
        "download_url": reverse("admin:episodes_soundbiteclip_download", args=[clip.pk]) if done else "",
        "retry_url": reverse("admin:episodes_soundbiteclip_retry", args=[clip.pk])
        if clip.state == SoundbiteClip.State.FAILED else "",
    }  # fmt: skip


def clips_context(episode: Episode, clips: list[dict[str, Any]]) -> dict[str, Any]:
    """The soundbites one can make clips of, and the newest clips (``clip_payload``s) with their state."""
    bites = [
        {"index": i, "title": str(b.get("title") or episode.title), "start": b.get("start"),
         "duration": b.get("duration")}
        for i, b in enumerate(episode.soundbites or [])
    ]  # fmt: skip
    return {
        "soundbites": bites,
        "clips": clips,
        "request_url": reverse("admin:episodes_episode_studio_clips", args=[episode.pk]),
        "formats": [("vertical", "Vertical (1080×1920)"), ("square", "Square (1080×1080)"), ("both", "Both")],
    }


@require_POST
def clip_request_view(request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: str) -> HttpResponse:
    item = item_or_404(model_admin, request, pk)
    if not isinstance(item, Episode):
        raise Http404("Clips are made from an episode's soundbites.")
    back = HttpResponseRedirect(change_url(item) + "#studio-clips")
    formats = FORMAT_CHOICES.get(request.POST.get("format", ""))
    try:
        soundbite = int(request.POST.get("soundbite", ""))
    except ValueError:
        soundbite = -1
    if formats is None or soundbite < 0:
        messages.error(request, "Choose a soundbite and a format for the clip.")
        return back
    try:
        made = [clip_request(episode=item, soundbite=soundbite, fmt=fmt) for fmt in formats]
    except DomainError as exc:
        messages.error(request, f"No clip was made: {exc.message}")
        return back
    messages.success(request, f"{len(made)} clip{'s' if len(made) > 1 else ''} of “{made[0].title}” queued.")
    return back
