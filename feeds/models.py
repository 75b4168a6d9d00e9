"""Download analytics (IAB v2 in spirit) and WebSub bookkeeping (the scan cursor, one outbox row per show).

``ListenerWindow`` holds what one hashed listener requested of one episode or video in a rolling 24 h window
(pruned after DOWNLOAD_EVENTS_RETENTION_DAYS); ``DailyDownloads`` holds the counts kept for good, per day and app.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from episodes.models import Episode, Show, Video

ONE_OWNER = (Q(episode__isnull=False) & Q(video__isnull=True)) | (Q(episode__isnull=True) & Q(video__isnull=False))


class ListenerWindow(models.Model):
    """Bytes one listener requested of one episode's or video's media within 24 h of their first request.

    A window is [started_at, started_at + 24 h): a download is counted at most once in it, and the listener's next
    request after it opens a new window. At most one window starts per listener, item and UTC day.
    """

    # The UTC day the window started: the day in the listener pseudonym, and what pruning goes by.
    day = models.DateField(db_index=True)
    # HMAC of the day, IP and User-Agent: no raw IP is stored and pseudonyms of different days do not link.
    listener = models.CharField(max_length=32)
    target = models.CharField(max_length=24, help_text="e:<episode id> or v:<video id>")
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="+")
    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    app = models.CharField(max_length=64)
    platform = models.CharField(max_length=64, blank=True)
    # Distinct bytes fetched (overlaps counted once), over all of the item's files; ``ranges`` holds them per
    # rendition id as merged [start, end] pairs (feeds.byte_ranges), until the window has counted.
    bytes_fetched = models.BigIntegerField(default=0)
    ranges = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # Listener first: a hit looks its windows up by (listener, target) for today and yesterday.
            models.UniqueConstraint(fields=["listener", "target", "day"], name="listener_window_unique"),
            models.CheckConstraint(condition=ONE_OWNER, name="listener_window_has_one_owner"),
        ]
        verbose_name = "listener window (raw, pruned)"

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.listener[:8]} {self.target}"


class DailyDownloads(models.Model):
    """Downloads of one episode or video on one day from one app."""

    day = models.DateField(db_index=True)
    target = models.CharField(max_length=24)
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="daily_downloads")
    episode = models.ForeignKey(
        Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="daily_downloads"
    )
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="daily_downloads")
    app = models.CharField(max_length=64)
    platform = models.CharField(max_length=64, blank=True)
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "show", "target", "app", "platform"]
        constraints = [
            models.UniqueConstraint(fields=["day", "target", "app", "platform"], name="daily_downloads_unique_app"),
            models.CheckConstraint(condition=ONE_OWNER, name="daily_downloads_has_one_owner"),
        ]
        indexes = [models.Index(fields=["show", "day"])]
        verbose_name_plural = "daily downloads"

    def __str__(self) -> str:
        return f"{self.day} {self.target} {self.app}: {self.downloads}"


class WebSubCursor(models.Model):
    """How far the WebSub scan has looked for feed changes (one row per name)."""

    name = models.CharField(max_length=32, unique=True)
    scanned_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.scanned_until:%Y-%m-%d %H:%M:%S}"


class WebSubPing(models.Model):
    """A show's feed changes waiting to be announced to the WebSub hub, and what was announced last.

    Every report of a change (by publishing, or by the scan) adds one to ``changes``; a ping that the hub accepted,
    or found unnecessary, moves ``handled`` up to the count it started from, so a change reported while a ping was
    on its way stays pending. Counters, not clocks: web and worker machines need not agree on the time.
    ``announced_fingerprint`` is the feed (feeds.selectors.feed_state) the last ping described: a change reported
    twice is announced once.
    """

    show = models.OneToOneField(Show, primary_key=True, on_delete=models.CASCADE, related_name="+")
    changes = models.PositiveBigIntegerField(default=0)
    handled = models.PositiveBigIntegerField(default=0)
    requested_at = models.DateTimeField(null=True, blank=True, help_text="when a change was last reported")
    # The scan sends a pending ping only from this time on: a ping already queued, or the back-off after a failure.
    due_at = models.DateTimeField(null=True, blank=True)
    # A ping task holds the row until then, so two tasks never POST for the same show at once.
    running_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="failed pings since the last success")
    last_error = models.CharField(max_length=500, blank=True)
    announced_fingerprint = models.CharField(max_length=32, blank=True)
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "WebSub ping"

    def __str__(self) -> str:
        return f"{self.show_id}: {'pending' if self.pending else 'announced'}"

    @property
    def pending(self) -> bool:
        return self.changes > self.handled


class FeedItem(models.Model):
    """An episode's serialised feed <item>, shared by every web process (feeds.items).

    ``key`` digests everything the item is made from (the episode's feed rows, the public base URL and the feed
    code's own version): a stored item is used only while its key still matches, so it is never stale, and a
    worker that has just started builds a 2,000-episode feed from these rows instead of 2,000 feedgen entries.
    One row per episode (the latest build), deleted with the episode.
    """

    # No database constraint: a render that stores an item while another request deletes the episode must not
    # fail; an orphan row is harmless (its key names content no live row has) and the ORM still cascades.
    episode = models.OneToOneField(
        Episode, primary_key=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    key = models.BinaryField(max_length=32)
    xml = models.BinaryField(help_text="the <item> element as UTF-8 bytes; empty when the episode has no item")

    class Meta:
        verbose_name = "feed item (derived, rebuilt on demand)"

    def __str__(self) -> str:
        return f"episode {self.episode_id}: {len(self.xml)} bytes"
