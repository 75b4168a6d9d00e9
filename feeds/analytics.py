"""Download counting in the spirit of the IAB Podcast Measurement guidelines v2.

    hit = download_hit(request, rendition=r, sent=ByteRange(0, 99), when=timezone.now())   # pure filters
    if hit: download_record(hit=hit)                                                      # the DB part

Rules: one download per listener per episode (or video) per UTC day; listener = HMAC of IP + User-Agent with
a salt that changes daily (no raw IP stored); bots excluded; Apple's ``bytes=0-1`` probe ignored; ranges add
up per listener and day and count once they cover about a minute of audio; HEAD is never counted.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.http import HttpRequest
from django.utils import timezone

from episodes.models import Rendition
from feeds.client_ip import client_ip
from feeds.models import DailyDownloads, ListenerDay
from feeds.serving import ByteRange
from feeds.user_agents import app_name, is_bot

COUNTED_KINDS = frozenset({"audio_mp3", "audio_aac", "audio_opus", "video_mp4"})
MIN_SECONDS = 60
FALLBACK_BITRATE = 128_000  # bits per second, when a rendition knows neither bitrate nor duration


@dataclass(frozen=True)
class DownloadHit:
    """One request's contribution: serialisable so it can travel through Celery."""

    day: str  # ISO date (UTC)
    listener: str
    target: str
    show_id: int
    episode_id: int | None
    video_id: int | None
    app: str
    bytes: int
    threshold: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _salt() -> bytes:
    configured = settings.ANALYTICS_SALT
    if configured:
        return configured.encode()
    return hashlib.sha256(b"media-hub-analytics:" + settings.SECRET_KEY.encode()).digest()


def listener_id(*, ip: str, user_agent: str, day: date) -> str:
    """A per-day pseudonym for IP + User-Agent (the day in the message rotates it daily)."""
    message = f"{day.isoformat()}|{ip}|{user_agent}".encode()
    return hmac.new(_salt(), message, hashlib.sha256).hexdigest()[:32]


def threshold_bytes(rendition: Rendition, seconds: int = MIN_SECONDS) -> int:
    """Bytes that hold ``seconds`` of the rendition (the whole file when it is shorter)."""
    if rendition.bitrate:
        per_second = rendition.bitrate / 8
    elif rendition.duration and rendition.duration > 0 and rendition.byte_size > 0:
        per_second = rendition.byte_size / rendition.duration
    else:
        per_second = FALLBACK_BITRATE / 8
    needed = int(per_second * seconds)
    return max(1, min(needed, rendition.byte_size))


def download_hit(
    request: HttpRequest, *, rendition: Rendition, sent: ByteRange | None, when: datetime
) -> DownloadHit | None:
    """What this request adds to a listener's day, or None when it cannot count at all."""
    if request.method != "GET" or sent is None or rendition.kind not in COUNTED_KINDS:
        return None
    if sent.start == 0 and sent.end == 1:
        return None  # Apple Podcasts probes every enclosure with bytes=0-1 before (or without) playing it
    user_agent = request.headers.get("User-Agent", "")
    if is_bot(user_agent):
        return None
    owner = rendition.episode if rendition.episode_id is not None else rendition.video
    if owner is None:
        return None
    day = when.astimezone(UTC).date()
    return DownloadHit(
        day=day.isoformat(),
        listener=listener_id(ip=client_ip(request), user_agent=user_agent, day=day),
        target=f"e:{rendition.episode_id}" if rendition.episode_id is not None else f"v:{rendition.video_id}",
        show_id=owner.show_id,
        episode_id=rendition.episode_id,
        video_id=rendition.video_id,
        app=app_name(user_agent)[:64],
        bytes=sent.length,
        threshold=threshold_bytes(rendition),
    )


def download_record(*, hit: DownloadHit) -> bool:
    """Add a hit to the listener's day; count a download when it crosses the threshold. True if it counted."""
    now = timezone.now()
    day = date.fromisoformat(hit.day)
    owner = {"show_id": hit.show_id, "episode_id": hit.episode_id, "video_id": hit.video_id}
    with transaction.atomic():
        row, created = ListenerDay.objects.get_or_create(
            day=day, listener=hit.listener, target=hit.target,
            defaults={**owner, "app": hit.app, "bytes_requested": hit.bytes},
        )  # fmt: skip
        if not created:
            grown = F("bytes_requested") + hit.bytes
            ListenerDay.objects.filter(pk=row.pk).update(bytes_requested=grown, last_seen=now)
            row.bytes_requested += hit.bytes
        if row.counted_at is not None or row.bytes_requested < hit.threshold:
            return False
        # The conditional update is the lock: of two concurrent requests only one flips counted_at.
        if not ListenerDay.objects.filter(pk=row.pk, counted_at__isnull=True).update(counted_at=now):
            return False
        daily, _ = DailyDownloads.objects.get_or_create(
            day=day, target=hit.target, app=row.app, defaults={**owner, "downloads": 0}
        )
        DailyDownloads.objects.filter(pk=daily.pk).update(downloads=F("downloads") + 1)
    return True


def prune_listener_days(*, now: datetime | None = None) -> int:
    """Delete raw listener rows older than DOWNLOAD_EVENTS_RETENTION_DAYS; the daily counts stay."""
    moment = now or timezone.now()
    cutoff = moment.date() - timedelta(days=settings.DOWNLOAD_EVENTS_RETENTION_DAYS)
    deleted, _ = ListenerDay.objects.filter(day__lt=cutoff).delete()
    return deleted


def download_stats(*, show_id: int | None = None, episode_id: int | None = None, since: date | None = None,
                   until: date | None = None) -> dict[str, Any]:  # fmt: skip
    """Downloads in [since, until] for a show or an episode: total, by day and by app."""
    qs = DailyDownloads.objects.all()
    if show_id is not None:
        qs = qs.filter(show_id=show_id)
    if episode_id is not None:
        qs = qs.filter(episode_id=episode_id)
    if since is not None:
        qs = qs.filter(day__gte=since)
    if until is not None:
        qs = qs.filter(day__lte=until)
    by_day = qs.values("day").annotate(n=Sum("downloads")).order_by("day")
    by_app = qs.values("app").annotate(n=Sum("downloads")).order_by("-n", "app")
    return {
        "total": sum(int(row["n"]) for row in by_day),
        "by_day": [{"day": row["day"], "downloads": int(row["n"])} for row in by_day],
        "by_app": [{"app": row["app"], "downloads": int(row["n"])} for row in by_app],
    }
