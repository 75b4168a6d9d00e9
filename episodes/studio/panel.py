"""What the studio panel on an episode's or video's edit page shows: checklist, status, players, files."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from episodes.models import Episode, Rendition, Video
from episodes.services.readiness import Check, live_checks, media_duration

from .calendar import local_publish_at, zone_label
from .clips import clips_context
from .views import PublishForm, TranscriptForm, status_payload

SHOW_FIELD_ANCHORS = {"categories": "category_picks"}  # form field names that differ from model fields


def fix_url(check: Check, item: Episode | Video) -> str:
    """Where the producer fixes a failing check: the show's page or this page, at the field."""
    if check.owner == "show":
        field = SHOW_FIELD_ANCHORS.get(check.field, check.field)
        return reverse("admin:episodes_show_change", args=[item.show_id]) + f"#id_{field}"
    if check.field == "upload":
        return "#studio-upload"
    return f"#id_{check.field}"


def _file_url(item: Episode | Video, rendition: Rendition) -> str:
    return reverse(f"admin:episodes_{item._meta.model_name}_studio_file", args=[item.pk, rendition.pk])


def panel_context(item: Episode | Video) -> dict[str, Any]:
    """Everything the panel template needs, from the item's prefetched renditions and transcripts."""
    renditions = list(item.renditions.all())
    by_kind: dict[str, list[Rendition]] = {}
    for r in renditions:
        by_kind.setdefault(r.kind, []).append(r)
    all_checks = live_checks(item)
    checks = [{"check": c, "url": fix_url(c, item)} for c in all_checks]

    def first(*kinds: str) -> Rendition | None:
        return next((r for kind in kinds for r in by_kind.get(kind, [])), None)

    audio = first(Rendition.Kind.AUDIO_MP3, Rendition.Kind.AUDIO_AAC)
    videos = sorted(by_kind.get(Rendition.Kind.VIDEO_MP4, []), key=lambda r: r.height or 0, reverse=True)
    waveform = first(Rendition.Kind.WAVEFORM)
    hls = first(Rendition.Kind.HLS)
    poster = first(Rendition.Kind.POSTER)
    storyboard = first(Rendition.Kind.STORYBOARD)
    storyboard_vtt = first(Rendition.Kind.STORYBOARD_VTT)
    name = item._meta.model_name
    status = status_payload(item)
    local = local_publish_at(item)  # as the producer set it: in the show's time zone
    calendar_url = reverse(f"admin:episodes_{name}_studio_calendar") + (f"?month={local:%Y-%m}" if local else "")
    return {
        "item": item,
        "noun": item._meta.verbose_name,
        "checks": checks,
        "blocking": [c for c in all_checks if c.required and not c.ok],
        "status": status,
        "status_url": reverse(f"admin:episodes_{name}_studio_status", args=[item.pk]),
        "publish_url": reverse(f"admin:episodes_{name}_studio_publish", args=[item.pk]),
        "stats_name": f"admin:episodes_{name}_studio_stats" if isinstance(item, Episode) else "",
        "upload_url": reverse(f"admin:episodes_{name}_studio_upload", args=[item.pk]),
        "transcript_url": reverse(f"admin:episodes_{name}_studio_transcript", args=[item.pk]),
        "publish_form": PublishForm(),
        "transcript_form": TranscriptForm(),
        "time_zone": item.show.time_zone,
        "publish_at_label": zone_label(local, "%Y-%m-%d %H:%M") if local else "",
        "calendar_url": calendar_url,
        "renditions": [{"r": r, "url": _file_url(item, r)} for r in renditions],
        "transcripts": [
            {
                "t": t,
                "delete_url": reverse(
                    f"admin:episodes_{name}_studio_transcript_delete", args=[item.pk, t.language, t.format]
                ),
            }  # fmt: skip
            for t in item.transcripts.all()
        ],
        "audio_url": _file_url(item, audio) if audio else "",
        "video_url": _file_url(item, videos[0]) if videos else "",
        "hls_url": reverse(f"admin:episodes_{name}_studio_hls", args=[item.pk, hls.storage_key.rsplit("/", 1)[1]])
        if hls
        else "",
        "waveform_url": _file_url(item, waveform) if waveform else "",
        "poster_url": _file_url(item, poster) if poster else "",
        "storyboard_url": _file_url(item, storyboard) if storyboard else "",
        "storyboard_vtt_url": _file_url(item, storyboard_vtt) if storyboard_vtt else "",
        "duration": media_duration(item),
        "clips": clips_context(item, status["clips"]) if isinstance(item, Episode) else None,
    }
