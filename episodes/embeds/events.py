"""Play events from embedded players, counted like downloads: one view per viewer, item and UTC day.

    event = parse_event(request.body)                 # PlayEvent("video", 3) or raises BadEvent
    counted = view_record(request, event=event, when=timezone.now())

The viewer is the downloads' pseudonym (``feeds.analytics.listener_id``: HMAC of IP + User-Agent with a daily
salt), so no raw IP is stored and a viewer who reloads the page, seeks or plays again adds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from episodes.models import EmbedView, Episode, Video
from episodes.selectors import is_live_q
from feeds.analytics import listener_id
from feeds.client_ip import client_ip
from feeds.user_agents import is_bot

from .player import Kind

MAX_BODY_BYTES = 512
MAX_ID = 10**18


class BadEvent(ValueError):
    """The body is not ``{"kind": "video"|"episode", "id": <positive int>, "event": "play"}``."""


@dataclass(frozen=True)
class PlayEvent:
    kind: Kind
    item_id: int


def parse_event(body: bytes) -> PlayEvent:
    if len(body) > MAX_BODY_BYTES:
        raise BadEvent("body too large")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadEvent("body must be JSON") from exc
    if not isinstance(data, dict) or data.get("event", "play") != "play":
        raise BadEvent('expected {"kind": …, "id": …, "event": "play"}')
    kind, item_id = data.get("kind"), data.get("id")
    if kind not in ("video", "episode"):
        raise BadEvent('kind must be "video" or "episode"')
    if isinstance(item_id, str) and item_id.isdigit() and len(item_id) <= 18:
        item_id = int(item_id)
    if not isinstance(item_id, int) or isinstance(item_id, bool) or not 0 < item_id < MAX_ID:
        raise BadEvent("id must be a positive integer")
    return PlayEvent("video" if kind == "video" else "episode", item_id)


def view_record(request: HttpRequest, *, event: PlayEvent, when: datetime) -> bool | None:
    """Count a view; True if counted, False if this viewer was already counted today or is a bot.

    None when the item is not live (unknown, draft, scheduled): nothing is recorded about it.
    """
    model: type[Episode] | type[Video] = Video if event.kind == "video" else Episode
    show_id = model.objects.filter(is_live_q(), pk=event.item_id).values_list("show_id", flat=True).first()
    if show_id is None:
        return None
    user_agent = request.headers.get("User-Agent", "")
    if is_bot(user_agent):
        return False
    day = when.astimezone(UTC).date()
    viewer = listener_id(ip=client_ip(request), user_agent=user_agent, day=day)
    owner = {"video_id": event.item_id} if event.kind == "video" else {"episode_id": event.item_id}
    target = f"{event.kind[0]}:{event.item_id}"
    try:
        with transaction.atomic():
            _, created = EmbedView.objects.get_or_create(
                day=day, viewer=viewer, target=target, defaults={"show_id": show_id, **owner}
            )
    except IntegrityError:
        return False  # a concurrent request for the same viewer and day won the insert
    return created


def view_count(*, episode: Episode | None = None, video: Video | None = None) -> int:
    """Views of an episode or a video, all days."""
    if episode is not None:
        return EmbedView.objects.filter(episode=episode).count()
    if video is not None:
        return EmbedView.objects.filter(video=video).count()
    return 0
