"""Download counting by the IAB Tech Lab Podcast Measurement Guidelines (v2.2); the rules are in docs/measurement.md.

    hit = download_hit(request, rendition=r, sent=ByteRange(0, 99), when=timezone.now())   # pure filters
    if hit: download_record(hit=hit)                                                      # the DB part (a task)

Rules: one download per listener per episode (or video) per rolling 24 h: a listener's first request opens a
window of 24 h, every request in it adds the bytes it fetched, and the window counts once, when the DISTINCT bytes
of one file (overlapping and repeated ranges merged, feeds.byte_ranges) cover a minute of audio (the whole file if
shorter); the next request after the window opens a new one. Bytes are those actually sent (the delivery view
reports them when the response is closed), or, behind an S3/CDN redirect, the range the client asked for.
Listener = HMAC of the UTC day, IP and User-Agent (no raw IP stored; pseudonyms of different days do not link), so a
request carries the listener's pseudonyms for its day and the day before, where a window still open may have
started. Bots (the OPAWG list plus our additions, feeds.user_agents) are excluded, Apple's ``bytes=0-1`` probe
ignored, HEAD never counted. A download is counted on the UTC day (and for the app and platform) of the request
that crossed the threshold.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Greatest
from django.http import HttpRequest
from django.utils import timezone

from episodes.models import Rendition
from feeds.byte_ranges import add_range, covered
from feeds.client_ip import client_ip
from feeds.models import DailyDownloads, ListenerWindow
from feeds.serving import ByteRange
from feeds.user_agents import classify

COUNTED_KINDS = frozenset({"audio_mp3", "audio_aac", "audio_opus", "video_mp4"})
MIN_SECONDS = 60
FALLBACK_BITRATE = 128_000  # bits per second, when a rendition knows neither bitrate nor duration
WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class DownloadHit:
    """One request's contribution: serialisable so it can travel through Celery."""

    at: str  # ISO 8601 time of the request (UTC)
    listener: str  # the listener's pseudonym on the request's UTC day
    previous_listener: str  # their pseudonym on the day before, for a window opened then
    target: str
    show_id: int
    episode_id: int | None
    video_id: int | None
    app: str
    platform: str
    rendition_id: int
    start: int  # the first and last byte of the file this request fetched
    end: int
    threshold: int  # distinct bytes of this rendition that make a download

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def covering(self, sent: ByteRange) -> DownloadHit | None:
        """This listener's hit for the bytes ``sent``; None for Apple's two-byte probe."""
        if sent.start == 0 and sent.end == 1:
            return None  # Apple Podcasts probes every enclosure with bytes=0-1 before (or without) playing it
        return replace(self, start=sent.start, end=sent.end)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DownloadHit | None:
        """A hit from a task message; None for a message of another shape (e.g. sent by an older release)."""
        try:
            return cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except (KeyError, TypeError):
            return None


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
    """What this request adds to a listener's window, or None when it cannot count at all."""
    listener = listener_hit(request, rendition=rendition, when=when)
    return listener.covering(sent) if listener is not None and sent is not None else None


def listener_hit(request: HttpRequest, *, rendition: Rendition, when: datetime) -> DownloadHit | None:
    """The request's listener, app and file, before any byte went out (``covering`` adds the bytes); None when
    it can never count: not a GET, not a counted rendition, a bot."""
    if request.method != "GET" or rendition.kind not in COUNTED_KINDS:
        return None
    user_agent = request.headers.get("User-Agent", "")
    agent = classify(user_agent)
    if agent.bot:
        return None
    owner = rendition.episode if rendition.episode_id is not None else rendition.video
    if owner is None:
        return None
    moment = when.astimezone(UTC)
    ip = client_ip(request)
    return DownloadHit(
        at=moment.isoformat(),
        listener=listener_id(ip=ip, user_agent=user_agent, day=moment.date()),
        previous_listener=listener_id(ip=ip, user_agent=user_agent, day=moment.date() - timedelta(days=1)),
        target=f"e:{rendition.episode_id}" if rendition.episode_id is not None else f"v:{rendition.video_id}",
        show_id=owner.show_id,
        episode_id=rendition.episode_id,
        video_id=rendition.video_id,
        app=agent.name[:64],
        platform=agent.platform[:64],
        rendition_id=rendition.pk,
        start=0,
        end=-1,
        threshold=threshold_bytes(rendition),
    )


def _owner(hit: DownloadHit) -> dict[str, int | None]:
    return {"show_id": hit.show_id, "episode_id": hit.episode_id, "video_id": hit.video_id}


def _window_for(hit: DownloadHit, when: datetime) -> ListenerWindow:
    """The listener's window holding ``when``; a new one when none does. Call inside a transaction."""
    today = when.date()
    mine = Q(listener=hit.listener, day=today) | Q(listener=hit.previous_listener, day=today - timedelta(days=1))
    candidates = list(ListenerWindow.objects.select_for_update().filter(mine, target=hit.target).order_by("started_at"))
    for window in candidates:
        if window.started_at <= when < window.started_at + WINDOW:
            return window
    # Today's window, if any, was opened by a later request whose task ran first (or concurrently, hence
    # get_or_create): it starts at this earlier request now.
    window, created = ListenerWindow.objects.get_or_create(
        listener=hit.listener, target=hit.target, day=today,
        defaults={**_owner(hit), "app": hit.app, "platform": hit.platform, "started_at": when, "last_seen": when},
    )  # fmt: skip
    if not created:
        ListenerWindow.objects.filter(pk=window.pk, started_at__gt=when).update(started_at=when)
    return window


def download_record(*, hit: DownloadHit) -> bool:
    """Add a hit's bytes to the listener's window; count a download when they cross the threshold. True if it
    counted. The distinct-bytes update is optimistic (it applies only if nobody changed the window since it was
    read, else it is read again), so concurrent hits are merged correctly on SQLite too, which has no row locks."""
    when = datetime.fromisoformat(hit.at).astimezone(UTC)
    key = str(hit.rendition_id)
    for _ in range(10):
        with transaction.atomic():
            window = _window_for(hit, when)
            mine = ListenerWindow.objects.filter(pk=window.pk)
            fetched, ranges, counted_at = mine.values_list("bytes_fetched", "ranges", "counted_at").get()
            if counted_at is not None:  # counted already: no need to keep its ranges any longer
                mine.update(last_seen=Greatest("last_seen", when))
                return False
            before = ranges.get(key, [])
            after = add_range(before, hit.start, hit.end)
            gained = covered(after) - covered(before)
            changes: dict[str, Any] = {"last_seen": Greatest("last_seen", when)}
            if gained:
                changes |= {"ranges": {**ranges, key: after}, "bytes_fetched": fetched + gained}
            if not mine.filter(bytes_fetched=fetched, counted_at__isnull=True).update(**changes):
                continue  # another hit changed the window meanwhile: read it again
            if covered(after) < hit.threshold:
                return False
            # The conditional update is the lock: of two concurrent requests only one flips counted_at.
            if not mine.filter(counted_at__isnull=True).update(counted_at=when, ranges={}):
                return False
            daily, _ = DailyDownloads.objects.get_or_create(
                day=when.date(), target=hit.target, app=window.app, platform=window.platform,
                defaults={**_owner(hit), "downloads": 0},
            )  # fmt: skip
            DailyDownloads.objects.filter(pk=daily.pk).update(downloads=F("downloads") + 1)
            return True
    raise RuntimeError(f"listener window {hit.target} kept changing; hit not recorded")


def prune_listener_windows(*, now: datetime | None = None) -> int:
    """Delete raw windows that started over DOWNLOAD_EVENTS_RETENTION_DAYS ago; the daily counts stay."""
    moment = (now or timezone.now()).astimezone(UTC)
    cutoff = moment.date() - timedelta(days=settings.DOWNLOAD_EVENTS_RETENTION_DAYS)
    deleted, _ = ListenerWindow.objects.filter(day__lt=cutoff).delete()
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
    by_platform = qs.values("platform").annotate(n=Sum("downloads")).order_by("-n", "platform")
    return {
        "total": sum(int(row["n"]) for row in by_day),
        "by_day": [{"day": row["day"], "downloads": int(row["n"])} for row in by_day],
        "by_app": [{"app": row["app"], "downloads": int(row["n"])} for row in by_app],
        "by_platform": [{"platform": row["platform"] or "Unknown", "downloads": int(row["n"])} for row in by_platform],
    }
