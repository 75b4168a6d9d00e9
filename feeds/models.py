"""Download analytics (IAB v2 in spirit) and the WebSub scan cursor.

``ListenerDay`` holds what one hashed listener requested of one episode or video on one UTC day (pruned after
DOWNLOAD_EVENTS_RETENTION_DAYS); ``DailyDownloads`` holds the counts kept for good, per day and app.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from episodes.models import Episode, Show, Video

ONE_OWNER = (Q(episode__isnull=False) & Q(video__isnull=True)) | (Q(episode__isnull=True) & Q(video__isnull=False))


class ListenerDay(models.Model):
    """Bytes requested by one listener of one episode's or video's media on one day; counted once at most."""

    day = models.DateField(db_index=True)
    # HMAC of IP + User-Agent with a salt that changes daily: no raw IP is stored and ids do not link days.
    listener = models.CharField(max_length=32)
    target = models.CharField(max_length=24, help_text="e:<episode id> or v:<video id>")
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="+")
    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    app = models.CharField(max_length=64)
    bytes_requested = models.BigIntegerField(default=0)
    counted_at = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["day", "listener", "target"], name="listener_day_unique"),
            models.CheckConstraint(condition=ONE_OWNER, name="listener_day_has_one_owner"),
        ]
        verbose_name = "listener day (raw, pruned)"

    def __str__(self) -> str:
        return f"{self.day} {self.listener[:8]} {self.target}"


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
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "show", "target", "app"]
        constraints = [
            models.UniqueConstraint(fields=["day", "target", "app"], name="daily_downloads_unique"),
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
