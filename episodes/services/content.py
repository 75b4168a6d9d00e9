"""Shows, episodes and videos: create, update, publish, schedule, unpublish."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from episodes.links import show_feed_url
from episodes.models import Episode, Rendition, Show, Status, Video, podcast_guid_for
from episodes.signals import feed_changed

from .artwork import with_normalised_artwork
from .common import apply_fields, validate_and_save
from .errors import Conflict, InvalidInput
from .readiness import chapter_problem, media_duration, require_live_ready

SHOW_FIELDS = {
    "title", "slug", "description", "language", "time_zone", "artwork", "categories", "explicit", "author",
    "owner_name", "owner_email", "copyright", "website_url", "show_type", "medium", "locked", "funding", "new_feed_url",
    "feed_moved",
}  # fmt: skip
EPISODE_FIELDS = {
    "title", "slug", "summary", "show_notes", "season", "number", "episode_type", "explicit", "artwork",
    "chapters", "soundbites", "members_only", "members_from",
}  # fmt: skip
VIDEO_FIELDS = {"title", "slug", "description"}


def show_create(*, title: str, slug: str, description: str, **fields: Any) -> Show:
    """Create a show; its `podcast:guid` is fixed now from its feed URL and never recomputed."""
    show = Show(title=title, slug=slug, description=description)
    apply_fields(show, with_normalised_artwork(fields), SHOW_FIELDS)
    show.podcast_guid = podcast_guid_for(show_feed_url(slug))
    validate_and_save(show)
    return show


def show_update(*, show: Show, **fields: Any) -> Show:
    changed = apply_fields(show, with_normalised_artwork(fields), SHOW_FIELDS)
    validate_and_save(show, update_fields=changed)
    if changed:
        feed_changed.send(sender=Show, show_id=show.pk)  # announced once, only if the feed really changed
    _retag_show(show)
    return show


def _retag(owner: Episode | Video) -> None:
    """The owner's audio files carry its title, numbers, chapters, date and cover: rewrite them if those changed."""
    from .retagging import tags_schedule

    tags_schedule(owner=owner)


def _retag_show(show: Show) -> None:
    from .retagging import tags_schedule_show

    tags_schedule_show(show=show)


def episode_create(*, show: Show, title: str, slug: str, **fields: Any) -> Episode:
    if "guid" in fields:
        # Importing an existing show: keep its GUIDs so podcast apps don't see duplicates.
        guid = fields.pop("guid")
        if not isinstance(guid, str) or not guid.strip():
            raise InvalidInput("guid: A GUID must be a non-empty string.", fields={"guid": ["Required."]})
        fields["guid"] = guid.strip()
    episode = Episode(show=show, title=title, slug=slug)
    apply_fields(episode, with_normalised_artwork(fields), EPISODE_FIELDS | {"guid"})
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
    if "chapters" in fields and isinstance(fields["chapters"], list):
        problem = chapter_problem(fields["chapters"], media_duration(episode))
        if problem:
            raise InvalidInput(f"chapters: {problem}", fields={"chapters": [problem]})
    changed += apply_fields(episode, with_normalised_artwork(fields), EPISODE_FIELDS)
    validate_and_save(episode, update_fields=changed)
    if changed and _is_live(episode):
        _feed_changed(episode)
    _retag(episode)
    return episode


def _publish_time(publish_at: datetime | None) -> datetime:
    if publish_at is None:
        return timezone.now()
    if timezone.is_naive(publish_at):
        raise InvalidInput("publish_at: Give the publish time with a time zone.", fields={"publish_at": ["Naive."]})
    return publish_at


Publishable = TypeVar("Publishable", Episode, Video)


def _publish(item: Publishable, publish_at: datetime | None, media_kind: str, no_media: str) -> Publishable:
    """Publish now or at ``publish_at`` once processed; the selectors' clock does the rest."""
    model = type(item)
    noun = model._meta.verbose_name
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=item.pk)
        if locked.status not in {Status.READY, Status.PUBLISHED}:
            raise Conflict(_not_ready_message(str(noun), locked.status), code="not_ready")
        owner_field = "episode" if isinstance(locked, Episode) else "video"
        if not Rendition.objects.filter(**{owner_field: locked, "kind": media_kind}).exists():
            raise Conflict(no_media, code="no_media")
        require_live_ready(locked)  # 422 naming the fields: never publish into a feed that cannot be built
        locked.publish_at = _publish_time(publish_at)
        locked.status = Status.PUBLISHED
        if locked.first_published_at is None or locked.first_published_at > timezone.now():
            locked.first_published_at = locked.publish_at
        validate_and_save(locked, update_fields=["publish_at", "status", "first_published_at"])
        if locked.publish_at <= timezone.now():
            _feed_changed(locked)  # a scheduled one is announced by the WebSub scan when its time comes
        _retag(locked)  # the tags' date is the publish date
    return locked


def _is_live(item: Episode | Video) -> bool:
    return item.status == Status.PUBLISHED and item.publish_at is not None and item.publish_at <= timezone.now()


def _feed_changed(item: Episode | Video) -> None:
    """Tell listeners (feeds.websub: after the commit) that the show's feed changed: episodes and their source
    videos."""
    if isinstance(item, Episode) or item.episode_id is not None:
        feed_changed.send(sender=Show, show_id=item.show_id)


def _unpublish(item: Publishable) -> Publishable:
    """Take it out of feeds, API and embeds; it keeps its GUID for when it comes back."""
    model = type(item)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=item.pk)
        if locked.status == Status.PUBLISHED:
            locked.status = Status.READY
            validate_and_save(locked, update_fields=["status"])
            _feed_changed(locked)
    return locked


def episode_publish(*, episode: Episode, publish_at: datetime | None = None) -> Episode:
    """Publish now, or schedule for ``publish_at``: the feed shows it from that moment, with nothing to run."""
    return _publish(
        episode, publish_at, Rendition.Kind.AUDIO_MP3, "This episode has no processed audio yet; upload it first."
    )


def episode_unpublish(*, episode: Episode) -> Episode:
    return _unpublish(episode)


def video_create(*, show: Show, title: str, slug: str, **fields: Any) -> Video:
    video = Video(show=show, title=title, slug=slug)
    apply_fields(video, fields, VIDEO_FIELDS)
    validate_and_save(video)
    return video


def video_update(*, video: Video, **fields: Any) -> Video:
    changed = apply_fields(video, fields, VIDEO_FIELDS)
    validate_and_save(video, update_fields=changed)
    if changed and _is_live(video):
        _feed_changed(video)
    _retag(video)
    return video


def video_publish(*, video: Video, publish_at: datetime | None = None) -> Video:
    return _publish(
        video, publish_at, Rendition.Kind.VIDEO_MP4, "This video has no processed renditions yet; upload it first."
    )


def video_unpublish(*, video: Video) -> Video:
    return _unpublish(video)


def _not_ready_message(noun: str, status: str) -> str:
    reasons = {
        Status.DRAFT: f"This {noun} has no processed media yet; upload a file first.",
        Status.PROCESSING: f"This {noun} is still being processed; publish it when it is ready.",
        Status.FAILED: f"Processing this {noun}'s media failed; upload a new file or re-process it.",
    }
    return reasons.get(Status(status), f"This {noun} cannot be published now.")
