"""The parts of a chunked video job: one row per chunk, the programme's sound, and the join."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from .media import ProcessingJob


class ChunkPart(models.Model):
    """One piece of work of one attempt of a job, leased by one worker at a time (like the job itself).

    Rows of an older attempt are never read again: every part names its attempt, and its stored files live
    under ``work/<job>/<attempt>/…`` (see episodes.services.chunked).
    """

    class Kind(models.TextChoices):
        CHUNK = "chunk", "Video chunk"
        SOUND = "sound", "Programme sound"
        JOIN = "join", "Join"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    job = models.ForeignKey(ProcessingJob, on_delete=models.CASCADE, related_name="parts")
    attempt = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    index = models.PositiveSmallIntegerField(default=0)
    start = models.FloatField(default=0.0)
    end = models.FloatField(default=0.0)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED, db_index=True)
    tries = models.PositiveSmallIntegerField(default=0)
    progress = models.PositiveSmallIntegerField(default=0)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Where this part's files were stored (attempt- and try-scoped), set when it is done.
    stored_prefix = models.CharField(max_length=500, blank=True)
    files = models.JSONField(default=list, blank=True, help_text="Stored file names, relative to the prefix.")

    class Meta:
        ordering = ["job", "attempt", "kind", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "attempt", "kind", "index"], name="chunk_part_unique"),
            models.CheckConstraint(
                condition=~Q(state="running") | Q(lease_expires_at__isnull=False), name="chunk_part_running_has_lease"
            ),
        ]

    def __str__(self) -> str:
        return f"Job {self.job_id} attempt {self.attempt} {self.kind} {self.index} ({self.state})"
