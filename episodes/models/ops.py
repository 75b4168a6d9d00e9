"""Liveness of the background processes: each worker and the active beat keep a row fresh."""

from __future__ import annotations

from django.db import models


class ProcessBeat(models.Model):
    """A worker's heartbeat (one row per worker node name), or the beat lease (the row named ``beat``).

    The beat row is also the lock that keeps a single beat active: ``holder`` owns it until ``expires_at``.
    """

    class Kind(models.TextChoices):
        WORKER = "worker", "Worker"
        BEAT = "beat", "Beat"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    queues = models.CharField(max_length=200, blank=True, help_text="Comma-separated queues a worker consumes.")
    holder = models.CharField(max_length=200, blank=True, help_text="host:pid of the process.")
    seen_at = models.DateTimeField(help_text="Its last heartbeat (for beat: its last tick).")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Beat: the lease's end.")

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.holder}, {self.seen_at:%H:%M:%S})"
