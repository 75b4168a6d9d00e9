"""Real Episode/Rendition/Transcript rows with real files in the per-test storage, for feed and delivery tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from episodes.models import Episode, MediaSource, Rendition, Show, Status, Transcript, Video
from episodes.services.content import episode_create, episode_publish, video_create, video_publish

MP3_BYTES = 160_000  # 10 s at 128 kbit/s


def media_bytes(size: int, seed: int = 0) -> bytes:
    """Deterministic, non-repeating-looking content so a wrong offset is caught."""
    return bytes((i * 31 + seed) % 251 for i in range(size))


def store(key: str, content: bytes) -> str:
    if default_storage.exists(key):
        default_storage.delete(key)
    saved = default_storage.save(key, ContentFile(content))
    assert saved == key
    return key


def source_for(owner: Episode | Video) -> MediaSource:
    owner_field = {"episode": owner} if isinstance(owner, Episode) else {"video": owner}
    return MediaSource.objects.create(
        **owner_field, storage_key=f"sources/{owner.pk}.wav", original_filename="in.wav", byte_size=10, kind="audio"
    )


def add_rendition(
    owner: Episode | Video,
    kind: str,
    *,
    variant: str = "",
    content: bytes | None = None,
    run: str = "run1",
    ext: str | None = None,
    **fields: Any,
) -> Rendition:
    """Write a file under a per-run key and point a Rendition row at it (replacing the previous one)."""
    defaults = {
        "audio_mp3": ("mp3", "audio/mpeg", 128_000),
        "audio_aac": ("m4a", "audio/mp4", 96_000),
        "audio_opus": ("opus", "audio/ogg", 48_000),
        "video_mp4": ("mp4", "video/mp4", 2_000_000),
        "hls": ("m3u8", "application/vnd.apple.mpegurl", None),
    }
    suffix, mime, bitrate = defaults[kind]
    owner_kind = "episodes" if isinstance(owner, Episode) else "videos"
    name = "master" if kind == "hls" else f"{kind}{'-' + variant if variant else ''}"
    key = f"renditions/{owner_kind}/{owner.pk}/{run}/{name}.{ext or suffix}"
    data = content if content is not None else media_bytes(MP3_BYTES if kind == "audio_mp3" else 5_000, owner.pk)
    store(key, data)
    owner_field = {"episode": owner} if isinstance(owner, Episode) else {"video": owner}
    Rendition.objects.filter(**owner_field, kind=kind, variant=variant).delete()
    values: dict[str, Any] = {"mime_type": mime, "bitrate": bitrate, "duration": 10.0, **fields}
    if kind.startswith("audio_"):
        # Made-up bytes "carry" the owner's current metadata: edits need no tag rewrite (tests/episodes/test_retagging).
        from episodes.services.media_meta import tag_source

        values.setdefault("tags_digest", tag_source(owner).digest)
    return Rendition.objects.create(
        **owner_field, source=source_for(owner), kind=kind, variant=variant, byte_size=len(data), storage_key=key,
        **values,
    )  # fmt: skip


def add_transcript(episode: Episode, fmt: str, language: str = "uk", text: str = "WEBVTT\n\n") -> Transcript:
    key = store(f"transcripts/episodes/{episode.pk}/{language}.{fmt}", text.encode())
    return Transcript.objects.create(
        episode=episode, language=language, format=fmt, storage_key=key, byte_size=len(text.encode())
    )


def live_episode(show: Show, n: int, *, publish_at: datetime | None = None, **fields: Any) -> Episode:
    """A processed, published episode number ``n`` with an MP3 on disk."""
    episode = episode_create(show=show, title=f"Випуск {n}", slug=f"vypusk-{n}", summary=f"Summary {n}.", **fields)
    add_rendition(episode, "audio_mp3")
    Episode.objects.filter(pk=episode.pk).update(status=Status.READY)
    moment = publish_at or timezone.now() - timedelta(hours=n)
    return episode_publish(episode=episode, publish_at=moment)


def live_video(show: Show, *, episode: Episode | None = None) -> Video:
    video = video_create(show=show, title="Explainer", slug=f"explainer-{Video.objects.count() + 1}")
    add_rendition(video, "video_mp4", variant="720p", height=720, width=1280)
    Video.objects.filter(pk=video.pk).update(status=Status.READY, episode=episode)
    video.refresh_from_db()
    return video_publish(video=video)


def storage_root() -> Path:
    return Path(default_storage.location)  # type: ignore[attr-defined]
