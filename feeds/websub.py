"""WebSub (W3C) publisher side: tell the hub when a show's feed changed, once per change, retried until it listens.

    websub_feed_changed(show_id=show.pk)   # inside the writing transaction: a ping goes out after the commit
    show_ids = websub_scan()               # beat, every minute: changes found since the last scan + retries due
    websub_announce(show_id=show.pk)       # the ping task: POST to the hub unless this feed was announced already
    websub_publish(feed_url="https://media.example.com/feeds/ukraine-insights.xml")   # raises WebSubError

Each show has one outbox row (feeds.models.WebSubPing). Publishing, pulling, and editing a show or a live episode or
video mark it and queue a ping at once; a failed ping queues its own retry for its time (1, 2, 4 … min); the scan
marks shows whose feed changed in its time window (scheduled episodes reaching their time among them) or whose
feed's fingerprint is no longer the one announced last (media re-processed, transcripts, deletions), and queues
every marked row that is due, which also resends pings that failed (with back-off) or whose message was lost. The
ping task compares the feed's fingerprint with the last one announced, so a change reported twice (by publishing
and then by the scan) is announced once.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from episodes.links import show_feed_url
from episodes.models import Show
from feeds.models import WebSubCursor, WebSubPing
from feeds.selectors import feed_changes_between, feed_state

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
CURSOR = "websub"
# Leave room for transactions still committing rows stamped just before the scan.
SETTLE = timedelta(seconds=5)
FIRST_LOOKBACK = timedelta(hours=1)
# A queued or running ping owns its row this long; after that the scan may send it again (a lost message).
LEASE = timedelta(minutes=5)
# After the n-th failure the next try waits RETRY_BASE × 2^(n-1), at most RETRY_MAX; after MAX_ATTEMPTS failures
# in a row (about 7 hours) the row rests until the feed changes again.
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 12


class WebSubError(Exception):
    """The hub could not be reached or refused the ping (worth retrying)."""


def websub_publish(*, feed_url: str, hub_url: str | None = None) -> int:
    """POST hub.mode=publish for ``feed_url`` to the hub; returns the hub's status code (2xx)."""
    hub = hub_url or settings.WEBSUB_HUB_URL
    if urlsplit(hub).scheme not in {"http", "https"}:
        raise WebSubError(f"WEBSUB_HUB_URL must be an http(s) URL, not {hub!r}")
    body = urlencode({"hub.mode": "publish", "hub.url": feed_url}).encode()
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        hub, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise WebSubError(f"The hub answered {exc.code} for {feed_url}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WebSubError(f"The hub at {hub} could not be reached: {exc}") from exc
    if not 200 <= status < 300:
        raise WebSubError(f"The hub answered {status} for {feed_url}")
    return status


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after ``attempts`` failed pings in a row."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_MAX)


def _request(show_ids: Iterable[int], *, now: datetime, queued: bool) -> None:
    """Report a change of the shows' feeds. ``queued``: the caller sends the ping itself, the scan must wait."""
    for show_id in show_ids:
        row, created = WebSubPing.objects.get_or_create(
            show_id=show_id, defaults={"changes": 1, "requested_at": now, "due_at": now + LEASE if queued else now}
        )
        if created:
            continue
        changes: dict[str, object] = {"changes": F("changes") + 1, "requested_at": now}
        if queued:
            changes["due_at"] = now + LEASE
        elif not row.pending or row.attempts >= MAX_ATTEMPTS:
            changes["due_at"] = now  # nothing in flight or backing off: due at once
        if row.attempts >= MAX_ATTEMPTS:
            changes["attempts"] = 0  # the hub was given up on; a new change is worth new tries
        WebSubPing.objects.filter(pk=show_id).update(**changes)


def _send(show_id: int, *, after: timedelta | None = None) -> None:
    from feeds.tasks import websub_ping

    # retry=False: with the broker down, fail now (the row stays due for the scan) instead of stalling a publish.
    if after is None:
        websub_ping.apply_async(args=(show_id,), retry=False)
    else:
        websub_ping.apply_async(args=(show_id,), countdown=after.total_seconds(), retry=False)


def _retry_later(show_id: int, delay: timedelta) -> None:
    """Send the retry at its time (the scan resends it later if this message is lost)."""
    from media_hub.celery import app

    if app.conf.task_always_eager:
        return  # eager mode (tests) would run it now, not later: the scan sends it when due
    try:
        _send(show_id, after=delay)
    except Exception:  # noqa: BLE001 - the broker is down: the scan sends it once it is due
        logger.warning("websub retry not queued; the scan will send it", exc_info=True)


def websub_feed_changed(*, show_id: int) -> None:
    """Announce the show's feed once the current transaction commits (call it inside the writing transaction)."""
    if not settings.WEBSUB_HUB_URL:
        return
    _request([show_id], now=timezone.now(), queued=True)
    # robust: a broker failure is logged, never raised into the editor's request; the scan resends after LEASE.
    transaction.on_commit(lambda: _send(show_id), robust=True)


def websub_scan(*, now: datetime | None = None) -> list[int]:
    """Mark feeds changed since the last scan; claim and return the shows whose ping is due (the caller sends)."""
    moment = now or timezone.now()
    until = moment - SETTLE
    with transaction.atomic():
        cursor, _ = WebSubCursor.objects.select_for_update().get_or_create(
            name=CURSOR, defaults={"scanned_until": until - FIRST_LOOKBACK}
        )
        if cursor.scanned_until < until:
            changed = set(feed_changes_between(since=cursor.scanned_until, until=until))
            changed.update(_drifted(exclude=changed))
            _request(sorted(changed), now=moment, queued=False)
            cursor.scanned_until = until
            cursor.save(update_fields=["scanned_until"])
        due = WebSubPing.objects.filter(changes__gt=F("handled"), due_at__lte=moment, attempts__lt=MAX_ATTEMPTS)
        show_ids = sorted(due.values_list("show_id", flat=True))
        WebSubPing.objects.filter(pk__in=show_ids).update(due_at=moment + LEASE)
    return show_ids


def _drifted(*, exclude: set[int]) -> list[int]:
    """Announced shows whose feed is no longer the one announced, for changes no timestamp window shows: media
    re-processed, a transcript added, an episode or a credit deleted. One fingerprint query per announced show."""
    announced = (
        WebSubPing.objects.filter(changes=F("handled")).exclude(announced_fingerprint="").exclude(show_id__in=exclude)
    )
    drifted = []
    for show_id, slug, fingerprint in announced.values_list("show_id", "show__slug", "announced_fingerprint"):
        state = feed_state(slug=slug)
        if state is not None and state.fingerprint != fingerprint:
            drifted.append(show_id)
    return drifted


def websub_announce(*, show_id: int) -> int | None:
    """Ping the hub for the show's pending change; the hub's status, or None when no ping was due or it failed."""
    hub = settings.WEBSUB_HUB_URL
    started = timezone.now()
    free = Q(running_until__isnull=True) | Q(running_until__lt=started)
    mine = WebSubPing.objects.filter(pk=show_id)
    if not hub or not mine.filter(free, changes__gt=F("handled")).update(running_until=started + LEASE):
        return None  # nothing pending, or another ping for this show is running
    row = mine.get()
    slug = Show.objects.filter(pk=show_id).values_list("slug", flat=True).first()
    state = feed_state(slug=slug) if slug is not None else None
    if slug is None or state is None:
        return None  # the show is being deleted (its row goes with it)
    fingerprint = state.fingerprint
    status = None
    if fingerprint != row.announced_fingerprint:
        try:
            status = websub_publish(feed_url=show_feed_url(slug), hub_url=hub)
        except WebSubError as exc:
            attempts = row.attempts + 1
            delay = retry_delay(attempts)
            mine.update(running_until=None, attempts=attempts, due_at=timezone.now() + delay,
                        last_error=str(exc)[:500])  # fmt: skip
            logger.warning("websub ping failed", extra={"show_id": show_id, "attempts": attempts, "error": str(exc)})
            if attempts < MAX_ATTEMPTS:
                _retry_later(show_id, delay)
            return None
        mine.update(announced_fingerprint=fingerprint, announced_at=timezone.now())
    # else: reported twice (publishing, then the scan seeing the same change): the hub already knows this feed.
    mine.update(running_until=None, attempts=0, last_error="")
    mine.filter(handled__lt=row.changes).update(handled=row.changes)
    # A change reported while this ping was on its way stays pending; the next scan sends it.
    mine.filter(changes__gt=F("handled")).update(due_at=timezone.now())
    return status
