"""An import of a show from its RSS feed (a URL or an uploaded document) and the state of each of its items.

The rows are the outbox: a job or an item is written first, its task is sent after the commit, and the beat's
sweep sends again whatever is due and not running (imports.services.imports_sweep).
"""

from __future__ import annotations

from django.db import models

from episodes.models import Episode, Show


class ImportJob(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    show = models.ForeignKey(Show, null=True, blank=True, on_delete=models.CASCADE, related_name="imports")
    source_url = models.URLField(max_length=2000, blank=True)
    document = models.BinaryField(blank=True, default=b"", help_text="an uploaded feed document")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    error = models.CharField(max_length=1000, blank=True)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    items_seen = models.PositiveIntegerField(default=0)
    items_new = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True, help_text="what was skipped (e.g. artwork Apple refuses)")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.state}) {self.source_url or 'upload'}"


class ImportItem(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "waiting to download"
        DOWNLOADING = "downloading"
        PROCESSING = "processing", "downloaded; being processed"
        DONE = "done", "published"
        FAILED = "failed"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="items")
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="+")
    guid = models.CharField(max_length=255, help_text="exactly as the feed wrote it")
    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=255, blank=True)
    enclosure_url = models.URLField(max_length=2000, blank=True)
    original_publish_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    error = models.CharField(max_length=1000, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    running_until = models.DateTimeField(null=True, blank=True)
    bytes_done = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    # podcast:chapters URL, podcast:transcript entries, and warnings about what of them could not be taken
    extras = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job", "id"]
        constraints = [models.UniqueConstraint(fields=["show", "guid"], name="import_item_guid_unique_in_show")]

    def __str__(self) -> str:
        return f"{self.guid} ({self.state})"
