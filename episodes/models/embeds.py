"""Embedded-player views: one row per viewer, media item and UTC day (the row *is* the count)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from .content import Episode, Show, Video
from .media import ONE_OWNER


class EmbedView(models.Model):
    """A viewer pressed play in an embed (or the public page) of an episode or video on a day; counted once."""

    day = models.DateField(db_index=True)
    # feeds.analytics.listener_id: HMAC of IP + User-Agent salted per day, the same pseudonym downloads use.
    viewer = models.CharField(max_length=32)
    target = models.CharField(max_length=24, help_text="e:<episode id> or v:<video id>")
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="+")
    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="embed_views")
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="embed_views")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["day", "viewer", "target"], name="embed_view_unique_per_day"),
            models.CheckConstraint(condition=ONE_OWNER, name="embed_view_has_one_owner"),
            models.CheckConstraint(condition=Q(target__regex=r"^[ev]:[0-9]+$"), name="embed_view_target_form"),
        ]
        indexes = [models.Index(fields=["show", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.viewer[:8]} {self.target}"
