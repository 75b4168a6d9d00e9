"""API access and resumable uploads: producers' tokens, upload sessions and their parts."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from .content import Episode, Video
from .media import ONE_OWNER, MediaSource


class ApiToken(models.Model):
    """A producer's bearer token. Only its SHA-256 is stored; the token itself is shown once, at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'Video desk uploader'.")
    # The first characters of the token, so a producer can tell tokens apart without the secret.
    prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="Set to revoke the token.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(token_hash=""), name="api_token_hash_not_empty")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class UploadSession(models.Model):
    """One resumable upload of a source file for an episode or a video, in fixed-size parts."""

    class Backend(models.TextChoices):
        LOCAL = "local", "Parts sent to the app"
        S3 = "s3", "Parts sent straight to S3"

    class State(models.TextChoices):
        OPEN = "open", "Receiving parts"
        COMPLETING = "completing", "Assembling the file"
        COMPLETED = "completed", "Completed"
        ABORTED = "aborted", "Aborted"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upload_sessions")
    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="uploads")
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="uploads")
    backend = models.CharField(max_length=8, choices=Backend.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN, db_index=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    byte_size = models.BigIntegerField(help_text="The whole file's size, declared when the upload starts.")
    part_size = models.BigIntegerField(help_text="Every part has this size except the last.")
    sha256 = models.CharField(max_length=64, blank=True, help_text="Expected SHA-256 of the whole file, if given.")
    storage_key = models.CharField(max_length=500, help_text="Where the assembled source will be stored.")
    s3_upload_id = models.CharField(max_length=1024, blank=True)
    source = models.OneToOneField(
        MediaSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="upload_session"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=ONE_OWNER, name="upload_has_one_owner"),
            models.CheckConstraint(condition=Q(byte_size__gt=0), name="upload_size_positive"),
            models.CheckConstraint(condition=Q(part_size__gt=0), name="upload_part_size_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.state})"

    @property
    def part_count(self) -> int:
        return -(-self.byte_size // self.part_size)

    def expected_part_size(self, number: int) -> int:
        """The exact size part ``number`` (1-based) must have."""
        if number < self.part_count:
            return self.part_size
        return self.byte_size - self.part_size * (self.part_count - 1)


class UploadPart(models.Model):
    """A part received (local backend) or reported by S3; sending a part again replaces it."""

    session = models.ForeignKey(UploadSession, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    byte_size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    md5 = models.CharField(max_length=32, blank=True)
    etag = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["session", "number"], name="upload_part_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="upload_part_number_gte_1"),
        ]

    def __str__(self) -> str:
        return f"part {self.number}"
