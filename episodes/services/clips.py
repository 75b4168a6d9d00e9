"""Social clips from soundbites: a producer asks (a row, then a job after commit), the worker renders and stores.

    clip = clip_request(episode=ep, soundbite=0, fmt="vertical")     # SoundbiteClip, state "queued"
    clip_render(clip_id=clip.pk)                                      # in the worker (episodes.tasks.render_clip)

The row is the outbox: if the broker is down the request still stands (state "queued"), and
``clip_requeue_stale`` sends it again. Rendering is idempotent: it does nothing unless the row is queued, and the
output's storage key is deterministic (a re-run overwrites it).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from episodes.media.clips import FORMATS, ClipSpec, clip_argv, write_subtitles
from episodes.media.errors import MediaError
from episodes.media.runner import run
from episodes.media_config import ffmpeg_binary
from episodes.models import Episode, Rendition, SoundbiteClip, Transcript

from .errors import InvalidInput
from .transcripts import parse_transcript

logger = logging.getLogger(__name__)
State = SoundbiteClip.State
AUDIO_KINDS = (Rendition.Kind.AUDIO_AAC, Rendition.Kind.AUDIO_MP3)
PROGRESS_EVERY_S = 1.0


def _enqueue(clip_id: int) -> None:
    from episodes.tasks import render_clip

    try:
        render_clip.delay(clip_id)
    except Exception:  # noqa: BLE001 - the row stays queued; clip_requeue_stale sends it again
        logger.warning("clip job not sent", extra={"clip_id": clip_id}, exc_info=True)


def clip_request(*, episode: Episode, soundbite: int, fmt: str) -> SoundbiteClip:
    """Queue a clip of the episode's soundbite number ``soundbite`` (0-based) in format ``fmt``."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format: use one of {', '.join(sorted(FORMATS))}.", fields={"format": ["Unknown."]})
    bites = episode.soundbites or []
    if not 0 <= soundbite < len(bites):
        raise InvalidInput("soundbite: this episode has no soundbite with that number.",
                           fields={"soundbite": ["Not found."]})  # fmt: skip
    if not Rendition.objects.filter(episode=episode, kind__in=AUDIO_KINDS).exists():
        raise InvalidInput("This episode has no processed audio yet.", fields={"episode": ["Not processed."]})
    bite = bites[soundbite]
    clip = SoundbiteClip.objects.create(
        episode=episode, start=float(bite["start"]), duration=float(bite["duration"]),
        title=str(bite.get("title") or episode.title)[:500], format=fmt,
    )  # fmt: skip
    transaction.on_commit(lambda: _enqueue(clip.pk))
    return clip


def clip_requeue_stale(*, older_than_s: float = 900) -> list[int]:
    """Send queued clips nobody picked up again (a broker outage lost their message)."""
    from datetime import timedelta

    from django.utils import timezone

    ids = list(SoundbiteClip.objects.filter(state=State.QUEUED, updated_at__lt=timezone.now() - timedelta(
        seconds=older_than_s)).values_list("pk", flat=True))  # fmt: skip
    for pk in ids:
        SoundbiteClip.objects.filter(pk=pk).update(updated_at=timezone.now())  # not again for older_than_s
        _enqueue(pk)
    return ids


def _copy(key: str, target: Path) -> Path:
    with default_storage.open(key, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    return target


def _claim(clip_id: int) -> SoundbiteClip | None:
    with transaction.atomic():
        clip = SoundbiteClip.objects.select_for_update().select_related("episode__show").filter(pk=clip_id).first()
        if clip is None or clip.state != State.QUEUED:
            return None
        clip.state, clip.progress, clip.error = State.RUNNING, 0.0, ""
        clip.save(update_fields=["state", "progress", "error", "updated_at"])
        return clip


def clip_render(*, clip_id: int) -> None:
    """Render a queued clip and store it; a failure is recorded on the row with its reason."""
    clip = _claim(clip_id)
    if clip is None:
        return
    episode = clip.episode
    work = Path(tempfile.mkdtemp(prefix=f"clip-{clip.pk}-", dir=settings.MEDIA_WORK_DIR))
    try:
        audio = min(Rendition.objects.filter(episode=episode, kind__in=AUDIO_KINDS),
                    key=lambda r: AUDIO_KINDS.index(r.kind))  # fmt: skip
        audio_path = _copy(audio.storage_key, work / f"audio{Path(audio.storage_key).suffix or '.m4a'}")
        art_name = next((str(i.name) for i in (episode.artwork, episode.show.artwork) if i and i.name), "")
        art_path = _copy(art_name, work / f"art{Path(art_name).suffix}") if art_name else None
        transcript = Transcript.objects.filter(episode=episode).order_by("format", "language").first()
        cues = []
        if transcript is not None:
            with default_storage.open(transcript.storage_key, "rb") as fh:
                cues = parse_transcript(fh.read().decode("utf-8", "replace"), transcript.format)
        output = work / "clip.mp4"
        spec = ClipSpec(audio=audio_path, artwork=art_path, title=clip.title, start=clip.start,
                        duration=clip.duration, fmt=clip.format, work_dir=work, output=output)  # fmt: skip
        write_subtitles(spec, cues)
        last = [0.0]

        def progress(percent: float) -> None:
            if time.monotonic() - last[0] >= PROGRESS_EVERY_S:
                last[0] = time.monotonic()
                SoundbiteClip.objects.filter(pk=clip.pk).update(progress=min(0.99, max(0.0, percent / 100)))

        run(clip_argv(spec, ffmpeg=ffmpeg_binary()), duration_s=clip.duration, timeout_s=600 + 20 * clip.duration,
            on_progress=progress)  # fmt: skip
        key = f"clips/episodes/{episode.pk}/{clip.pk}-{clip.format}.mp4"
        if default_storage.exists(key):
            default_storage.delete(key)
        with output.open("rb") as out:
            stored = default_storage.save(key, File(out, name=Path(key).name))
        SoundbiteClip.objects.filter(pk=clip.pk).update(state=State.SUCCEEDED, progress=1.0, storage_key=stored,
                                                        byte_size=output.stat().st_size)  # fmt: skip
    except (MediaError, OSError, ValueError, Rendition.DoesNotExist) as exc:
        logger.warning("clip failed", extra={"clip_id": clip.pk}, exc_info=True)
        SoundbiteClip.objects.filter(pk=clip.pk).update(state=State.FAILED, error=str(exc)[:2000])
    finally:
        shutil.rmtree(work, ignore_errors=True)
