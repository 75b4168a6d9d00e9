"""Media files: uploaded sources, their renditions, transcripts, and the processing job state."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .content import Episode, Video

# Exactly one of the two owners is set: a file belongs to an episode or to a video.
ONE_OWNER = (Q(episode__isnull=False) & Q(video__isnull=True)) | (Q(episode__isnull=True) & Q(video__isnull=False))


class MediaSource(models.Model):
    """An uploaded original. Kept after processing so renditions can be made again."""

    class Kind(models.TextChoices):
        UNKNOWN = "unknown", "Not probed yet"
        AUDIO = "audio", "Audio"
        VIDEO = "video", "Video"
        REJECTED = "rejected", "Rejected"

    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="sources")
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="sources")
    storage_key = models.CharField(max_length=500)
    original_filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    byte_size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.UNKNOWN)
    probe = models.JSONField(default=dict, blank=True)
    duration = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=ONE_OWNER, name="source_has_one_owner"),
            models.CheckConstraint(condition=Q(byte_size__gte=0), name="source_size_not_negative"),
        ]

    def __str__(self) -> str:
        return self.original_filename


class Rendition(models.Model):
    """One processed output. The live set of an episode or video is swapped in one transaction."""

    class Kind(models.TextChoices):
        AUDIO_MP3 = "audio_mp3", "MP3 (feed enclosure)"
        AUDIO_AAC = "audio_aac", "AAC in M4A"
        AUDIO_OPUS = "audio_opus", "Opus"
        VIDEO_MP4 = "video_mp4", "H.264 MP4"
        HLS = "hls", "HLS master playlist"
        POSTER = "poster", "Poster"
        THUMBNAIL = "thumbnail", "Thumbnail"
        STORYBOARD = "storyboard", "Storyboard sprite"
        STORYBOARD_VTT = "storyboard_vtt", "Storyboard index (WebVTT)"
        WAVEFORM = "waveform", "Waveform peaks (JSON)"

    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="renditions")
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="renditions")
    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="renditions")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Distinguishes several outputs of one kind (the ladder's "720p"); empty otherwise.
    variant = models.CharField(max_length=32, blank=True)
    mime_type = models.CharField(max_length=100)
    codecs = models.CharField(max_length=100, blank=True)
    bitrate = models.PositiveIntegerField(null=True, blank=True, help_text="bits per second")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)
    byte_size = models.BigIntegerField()
    storage_key = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, blank=True)
    # Digest (episodes.services.media_meta.TagSource) of the metadata written into this file's tags; "" when the
    # file carries none. A different digest for the owner's current metadata means the tags must be rewritten.
    tags_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-height", "id"]
        constraints = [
            models.CheckConstraint(condition=ONE_OWNER, name="rendition_has_one_owner"),
            models.UniqueConstraint(
                fields=["episode", "kind", "variant"],
                condition=Q(episode__isnull=False),
                name="rendition_unique_per_episode",
            ),
            models.UniqueConstraint(
                fields=["video", "kind", "variant"],
                condition=Q(video__isnull=False),
                name="rendition_unique_per_video",
            ),
            models.CheckConstraint(condition=Q(byte_size__gte=0), name="rendition_size_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.variant}".strip()


class Transcript(models.Model):
    class Format(models.TextChoices):
        VTT = "vtt", "WebVTT"
        SRT = "srt", "SubRip"
        JSON = "json", "Podcasting 2.0 JSON"

    MIME_TYPES = {"vtt": "text/vtt", "srt": "application/x-subrip", "json": "application/json"}

    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="transcripts")
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="transcripts")
    language = models.CharField(max_length=16, default="en")
    format = models.CharField(max_length=8, choices=Format.choices)
    storage_key = models.CharField(max_length=500)
    byte_size = models.BigIntegerField(default=0)
    text = models.TextField(blank=True, help_text="Plain text for search.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["language", "format"]
        constraints = [
            models.CheckConstraint(condition=ONE_OWNER, name="transcript_has_one_owner"),
            models.UniqueConstraint(
                fields=["episode", "language", "format"],
                condition=Q(episode__isnull=False),
                name="transcript_unique_per_episode",
            ),
            models.UniqueConstraint(
                fields=["video", "language", "format"],
                condition=Q(video__isnull=False),
                name="transcript_unique_per_video",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_format_display()} ({self.language})"

    @property
    def mime_type(self) -> str:
        return self.MIME_TYPES[self.format]


class ProcessingJob(models.Model):
    """Turning one source into renditions. Leased by one worker at a time, with a heartbeat."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Stage(models.TextChoices):
        WAITING = "waiting", "Waiting for a worker"
        WAITING_STORAGE = "waiting_storage", "Waiting for storage"
        WAITING_DATABASE = "waiting_db", "Waiting for the database"
        FETCHING = "fetching", "Fetching the upload"
        PROBING = "probing", "Inspecting the file"
        ANALYSING = "analysing", "Measuring loudness"
        ENCODING = "encoding", "Encoding"
        PACKAGING = "packaging", "Packaging for streaming"
        IMAGES = "images", "Making posters and thumbnails"
        TAGGING = "tagging", "Tagging"
        STORING = "storing", "Storing renditions"
        DONE = "done", "Done"

    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="jobs")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.WAITING)
    progress = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="What went wrong, for the producer.")
    error_detail = models.TextField(blank=True, help_text="Technical detail (ffmpeg's last lines).")
    loudness = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now, help_text="When it was last put on the queue.")
    # The row is the outbox: a queued job whose message never reached the broker has sent_at NULL, and the sweeper
    # sends it (not before retry_at, when a retry waits out a back-off).
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When its message was last handed to the broker.")
    retry_at = models.DateTimeField(null=True, blank=True, help_text="A retry waits until then.")
    outage_retries = models.PositiveSmallIntegerField(
        default=0, help_text="Retries because storage or the database was down (not counted as attempts)."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_0_100"),
            models.CheckConstraint(
                condition=~Q(state="running") | Q(lease_expires_at__isnull=False),
                name="job_running_has_lease",
            ),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.state}, {self.stage} {self.progress}%)"


class TagRewrite(models.Model):
    """Pending rewrite of the tags of an episode's or video's audio files (the outbox row of that work).

    One row per owner while work is pending: an edit sets ``due_at`` a few seconds ahead (a burst of edits moves it
    on and is rewritten once), a worker leases the row, rewrites, swaps the files in and deletes the row.
    """

    episode = models.OneToOneField(Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    video = models.OneToOneField(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When a message was last sent to a worker.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.CheckConstraint(condition=ONE_OWNER, name="tag_rewrite_has_one_owner")]

    def __str__(self) -> str:
        return f"Tag rewrite of {'episode' if self.episode_id else 'video'} {self.episode_id or self.video_id}"
