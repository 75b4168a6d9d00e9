"""Turn an explainer video into a podcast episode in one action."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction

from episodes.html import html_to_text
from episodes.models import Episode, Rendition, Video

from .content import episode_create
from .errors import Conflict
from .uploads import media_source_register, source_key_for


def video_make_episode(*, video: Video, slug: str | None = None) -> Episode:
    """Create an episode in the video's show whose audio is made from the video's sound.

    The episode gets its own copy of the video's upload and goes through the audio pipeline (loudness, MP3/AAC/
    Opus, tags with the episode's metadata), so deleting or re-processing either one never affects the other.
    """
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        if video.episode_id is not None:
            raise Conflict(f"This video already has an episode: “{video.episode}”.", code="exists")
        if not Rendition.objects.filter(video=video, kind=Rendition.Kind.AUDIO_MP3).exists():
            raise Conflict("This video has no processed sound yet; wait until it is ready.", code="no_media")
        source = video.sources.order_by("-created_at", "-id").first()
        if source is None:
            raise Conflict("This video has no uploaded file.", code="no_media")
        episode = episode_create(
            show=video.show,
            title=video.title,
            slug=slug or video.slug,
            summary=html_to_text(video.description)[:4000],
            show_notes=video.description,
        )
        video.episode = episode
        video.save(update_fields=["episode", "updated_at"])
        key = source_key_for(episode, source.original_filename)
        with default_storage.open(source.storage_key, "rb") as fh:
            stored = default_storage.save(key, fh)
        media_source_register(
            owner=episode,
            storage_key=stored,
            filename=source.original_filename,
            byte_size=source.byte_size,
            sha256=source.sha256,
            content_type=source.content_type,
        )
    return episode
