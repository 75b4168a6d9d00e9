"""Publishing as the producer asks for it: now, at a time in the show's zone, or the moment processing succeeds.

The admin's episode page and the API call these; ``content.episode_publish`` stays the one place that flips the
status. "Publish when ready" is a flag on the row: processing's success calls ``publish_if_requested``, and a
failure (processing, or a checklist item) leaves the item unpublished with ``publish_problem`` saying why.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.db import transaction

from episodes.models import Episode, Status, Video

from . import content
from .errors import Conflict, DomainError, InvalidInput


def item_publish(*, item: Episode | Video, publish_at: datetime | None = None) -> Episode | Video:
    """Publish now (``publish_at`` None) or schedule; clears any pending "when ready" request."""
    if isinstance(item, Episode):
        published: Episode | Video = content.episode_publish(episode=item, publish_at=publish_at)
    else:
        published = content.video_publish(video=item, publish_at=publish_at)
    type(item).objects.filter(pk=item.pk).update(publish_when_ready=False, publish_problem="")
    published.publish_when_ready, published.publish_problem = False, ""
    return published


def item_unpublish(*, item: Episode | Video) -> Episode | Video:
    """Take it down (or cancel its schedule), and forget any "when ready" request."""
    type(item).objects.filter(pk=item.pk).update(publish_when_ready=False, publish_problem="")
    if isinstance(item, Episode):
        return content.episode_unpublish(episode=item)
    return content.video_unpublish(video=item)


def schedule_time(*, day: date, at: time, time_zone: str) -> datetime:
    """A wall-clock date and time in the show's zone, as an aware datetime."""
    try:
        zone = ZoneInfo(time_zone)
    except (KeyError, ValueError) as exc:
        raise InvalidInput(f"Unknown time zone {time_zone!r}.", fields={"time_zone": ["Unknown."]}) from exc
    return datetime.combine(day, at, tzinfo=zone)


def item_publish_when_ready(*, item: Episode | Video) -> Episode | Video:
    """Publish as soon as processing succeeds; at once if it already has. Refused once processing has failed."""
    model = type(item)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=item.pk)
        if locked.status == Status.PUBLISHED:
            raise Conflict("It is already published.", code="already_published")
        if locked.status == Status.FAILED:
            raise Conflict("Processing failed: upload a new file or re-process it first.", code="failed")
        if locked.status == Status.READY:
            ready = True
        else:
            ready = False
            model.objects.filter(pk=locked.pk).update(publish_when_ready=True, publish_problem="")
    if ready:
        return item_publish(item=locked)
    return model.objects.select_related("show").get(pk=item.pk)


def publish_if_requested(*, item: Episode | Video) -> bool:
    """Called when processing succeeded: publish if the producer asked to; record why not if it cannot."""
    fresh = type(item).objects.select_related("show").get(pk=item.pk)
    if not fresh.publish_when_ready:
        return False
    try:
        item_publish(item=fresh)
    except DomainError as exc:
        type(item).objects.filter(pk=item.pk).update(
            publish_when_ready=False, publish_problem=f"Not published automatically: {exc.message}"[:1000]
        )
        return False
    return True


def publish_request_failed(*, item: Episode | Video, reason: str) -> None:
    """Processing failed for good: a pending "when ready" request becomes a visible reason."""
    type(item).objects.filter(pk=item.pk, publish_when_ready=True).update(
        publish_when_ready=False, publish_problem=f"Not published: processing failed. {reason}"[:1000]
    )
