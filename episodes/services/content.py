"""Shows, episodes and videos: create, update, publish, schedule, unpublish."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from episodes.links import show_feed_url
from episodes.models import Episode, Rendition, Show, Status, Video, podcast_guid_for

from .common import apply_fields, validate_and_save
from .errors import Conflict, InvalidInput

SHOW_FIELDS = {
    "title", "slug", "description", "language", "artwork", "categories", "explicit", "author", "owner_name",
    "owner_email", "copyright", "website_url", "show_type", "medium", "locked", "funding", "new_feed_url",
}  # fmt: skip
EPISODE_FIELDS = {
    "title", "slug", "summary", "show_notes", "season", "number", "episode_type", "explicit", "artwork",
    "chapters", "soundbites",
}  # fmt: skip
VIDEO_FIELDS = {"title", "slug", "description"}


def show_create(*, title: str, slug: str, description: str, **fields: Any) -> Show:
    """Create a show; its `podcast:guid` is fixed now from its feed URL and never recomputed."""
    show = Show(title=title, slug=slug, description=description)
    apply_fields(show, fields, SHOW_FIELDS)
    show.podcast_guid = podcast_guid_for(show_feed_url(slug))
    validate_and_save(show)
    return show


def show_update(*, show: Show, **fields: Any) -> Show:
    changed = apply_fields(show, fields, SHOW_FIELDS)
    validate_and_save(show, update_fields=changed)
    return show


def episode_create(*, show: Show, title: str, slug: str, **fields: Any) -> Episode:
    if "guid" in fields:
        # Importing an existing show: keep its GUIDs so podcast apps don't see duplicates.
        guid = fields.pop("guid")
        if not isinstance(guid, str) or not guid.strip():
            raise InvalidInput("guid: A GUID must be a non-empty string.", fields={"guid": ["Required."]})
        fields["guid"] = guid.strip()
    episode = Episode(show=show, title=title, slug=slug)
    apply_fields(episode, fields, EPISODE_FIELDS | {"guid"})
    validate_and_save(episode)
    return episode


def episode_update(*, episode: Episode, **fields: Any) -> Episode:
    """Change metadata; the GUID may change only until the episode is first published."""
    changed: list[str] = []
    if "guid" in fields and fields["guid"] != episode.guid:
        published = Episode.objects.filter(pk=episode.pk, first_published_at__isnull=False).exists()
        if published or episode.first_published_at:
            raise InvalidInput("guid: The GUID of a published episode never changes.", fields={"guid": ["Fixed."]})
        episode.guid = str(fields.pop("guid"))
        changed.append("guid")
    fields.pop("guid", None)
    changed += apply_fields(episode, fields, EPISODE_FIELDS)
    validate_and_save(episode, update_fields=changed)
    return episode


def _publish_time(publish_at: datetime | None) -> datetime:
    if publish_at is None:
        return timezone.now()
    if timezone.is_naive(publish_at):
        raise InvalidInput("publish_at: Give the publish time with a time zone.", fields={"publish_at": ["Naive."]})
    return publish_at


def episode_publish(*, episode: Episode, publish_at: datetime | None = None) -> Episode:
    """Publish now, or schedule for ``publish_at``: the feed shows it from that moment, with nothing to run."""
    with transaction.atomic():
        episode = Episode.objects.select_for_update().get(pk=episode.pk)
        if episode.status not in {Status.READY, Status.PUBLISHED}:
            raise Conflict(_not_ready_message("episode", episode.status), code="not_ready")
        if not Rendition.objects.filter(episode=episode, kind=Rendition.Kind.AUDIO_MP3).exists():
            raise Conflict("This episode has no processed audio yet; upload and process it first.", code="no_media")
        episode.publish_at = _publish_time(publish_at)
        episode.status = Status.PUBLISHED
        if episode.first_published_at is None or episode.first_published_at > timezone.now():
            episode.first_published_at = episode.publish_at
        validate_and_save(episode, update_fields=["publish_at", "status", "first_published_at"])
    return episode


def episode_unpublish(*, episode: Episode) -> Episode:
    """Take an episode out of the feed and the API (it keeps its GUID for when it comes back)."""
    with transaction.atomic():
        episode = Episode.objects.select_for_update().get(pk=episode.pk)
        if episode.status == Status.PUBLISHED:
            episode.status = Status.READY
            validate_and_save(episode, update_fields=["status"])
    return episode


def video_create(*, show: Show, title: str, slug: str, **fields: Any) -> Video:
    video = Video(show=show, title=title, slug=slug)
    apply_fields(video, fields, VIDEO_FIELDS)
    validate_and_save(video)
    return video


def video_update(*, video: Video, **fields: Any) -> Video:
    changed = apply_fields(video, fields, VIDEO_FIELDS)
    validate_and_save(video, update_fields=changed)
    return video


def video_publish(*, video: Video, publish_at: datetime | None = None) -> Video:
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        if video.status not in {Status.READY, Status.PUBLISHED}:
            raise Conflict(_not_ready_message("video", video.status), code="not_ready")
        if not Rendition.objects.filter(video=video, kind=Rendition.Kind.VIDEO_MP4).exists():
            raise Conflict("This video has no processed renditions yet; upload and process it first.", code="no_media")
        video.publish_at = _publish_time(publish_at)
        video.status = Status.PUBLISHED
        if video.first_published_at is None or video.first_published_at > timezone.now():
            video.first_published_at = video.publish_at
        validate_and_save(video, update_fields=["publish_at", "status", "first_published_at"])
    return video


def video_unpublish(*, video: Video) -> Video:
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        if video.status == Status.PUBLISHED:
            video.status = Status.READY
            validate_and_save(video, update_fields=["status"])
    return video


def _not_ready_message(noun: str, status: str) -> str:
    reasons = {
        Status.DRAFT: f"This {noun} has no processed media yet; upload a file first.",
        Status.PROCESSING: f"This {noun} is still being processed; publish it when it is ready.",
        Status.FAILED: f"Processing this {noun}'s media failed; upload a new file or re-process it.",
    }
    return reasons.get(Status(status), f"This {noun} cannot be published now.")
