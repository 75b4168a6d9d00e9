"""Social video clips made from an episode's soundbites (episodes.services.clips renders them)."""

from __future__ import annotations

from django.db import models

from .content import Episode


class SoundbiteClip(models.Model):
    class Format(models.TextChoices):
        VERTICAL = "vertical", "Vertical 1080×1920"
        SQUARE = "square", "Square 1080×1080"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="clips")
    start = models.FloatField()
    duration = models.FloatField()
    title = models.CharField(max_length=500)
    format = models.CharField(max_length=16, choices=Format.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    progress = models.FloatField(default=0.0)
    storage_key = models.CharField(max_length=500, blank=True)
    byte_size = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The row is the outbox and the lease (episodes.services.clips): sent_at is empty until the broker took the
    # message; a running clip belongs to lease_owner until lease_expires_at, which its worker keeps extending.
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=255, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "lease_expires_at"], name="clip_state_lease")]
        constraints = [
            models.CheckConstraint(condition=models.Q(duration__gt=0, duration__lte=300), name="clip_duration_range"),
            models.CheckConstraint(condition=models.Q(start__gte=0), name="clip_start_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.format})"
