"""Social clips from soundbites: a producer asks (a row, then a job after commit), the worker renders and stores.

    clip = clip_request(episode=ep, soundbite=0, fmt="vertical")     # SoundbiteClip, state "queued"
    clip_render(clip_id=clip.pk, worker_id="host:123")               # in the worker (episodes.tasks.render_clip)
    clips_sweep()                                                     # the sweeper: unsent, lost and dead clips
    clip_retry(clip=failed_clip)                                      # the producer asks again

The row is the outbox and the lease, like a processing job's (episodes.services.outbox, .leases):
- a request is committed first and sent after the commit; if the broker is down the row stays queued with
  ``sent_at`` empty and the sweeper sends it;
- a worker claims the clip with a lease it keeps extending (``ClipBeat``) while it renders; a worker that died
  leaves an expired lease, and the sweeper queues the clip again, at most ``MEDIA_JOB_MAX_ATTEMPTS`` times, then
  fails it with a reason;
- the file is stored, and the clip marked succeeded, only by the worker that still holds the lease, under a
  deterministic key (a re-run overwrites it, never adds a second file).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from episodes.media.clips import FORMATS, ClipSpec, clip_argv, write_subtitles
from episodes.media.errors import MediaError
from episodes.media.runner import run
from episodes.media_config import ffmpeg_binary
from episodes.models import Episode, Rendition, SoundbiteClip, Transcript

from .errors import Conflict, InvalidInput
from .leases import LeaseKeeper, LeaseLost
from .outbox import message_send
from .transcripts import parse_transcript

logger = logging.getLogger(__name__)
State = SoundbiteClip.State
AUDIO_KINDS = (Rendition.Kind.AUDIO_AAC, Rendition.Kind.AUDIO_MP3)
PROGRESS_EVERY_S = 1.0
SEND_GRACE = timedelta(seconds=5)  # a clip requested this recently is left to its own on-commit send
TOO_MANY_TRIES = ("Rendering this clip was started {n} times and the worker stopped each time before it finished; "
                  "request the clip again, and tell an operator if it keeps failing.")  # fmt: skip


def _lease() -> timedelta:
    return timedelta(seconds=settings.MEDIA_JOB_LEASE_SECONDS)


def clip_send(clip_id: int) -> bool:
    """Hand the clip's message to the broker and note when; False (logged, never raised) when the broker is down."""
    from episodes.tasks import render_clip

    queued = SoundbiteClip.objects.filter(pk=clip_id, state=State.QUEUED)
    return message_send(render_clip, clip_id, noun="clip", sent=queued)


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
    transaction.on_commit(partial(clip_send, clip.pk), robust=True)
    return clip


def clip_retry(*, clip: SoundbiteClip) -> SoundbiteClip:
    """Ask again for a failed clip: same soundbite span, title and format, fresh attempts."""
    with transaction.atomic():
        fresh = SoundbiteClip.objects.select_for_update().get(pk=clip.pk)
        if fresh.state != State.FAILED:
            raise Conflict("Only a failed clip can be made again.")
        fresh.state, fresh.progress, fresh.error, fresh.attempts = State.QUEUED, 0.0, "", 0
        fresh.sent_at, fresh.lease_owner, fresh.lease_expires_at = None, "", None
        fresh.save()
        transaction.on_commit(partial(clip_send, fresh.pk), robust=True)
    return fresh


def _fail(clip: SoundbiteClip, reason: str) -> None:
    clip.state, clip.error, clip.lease_expires_at = State.FAILED, reason[:2000], None
    clip.save()


def clips_sweep(*, now: datetime | None = None) -> list[int]:
    """The sweeper's part for clips: requeue those whose worker died, send unsent and lost messages."""
    now = now or timezone.now()
    max_attempts = settings.MEDIA_JOB_MAX_ATTEMPTS
    requeued: list[int] = []
    dead = SoundbiteClip.objects.filter(state=State.RUNNING, lease_expires_at__lt=now).values_list("pk", flat=True)
    for pk in list(dead):
        with transaction.atomic():
            clip = SoundbiteClip.objects.select_for_update().get(pk=pk)
            if clip.state != State.RUNNING or not clip.lease_expires_at or clip.lease_expires_at >= now:
                continue  # its worker renewed the lease meanwhile
            if clip.attempts >= max_attempts:
                _fail(clip, TOO_MANY_TRIES.format(n=clip.attempts))
                logger.warning("clip failed: its workers kept dying", extra={"clip_id": pk})
                continue
            clip.state, clip.progress, clip.sent_at = State.QUEUED, 0.0, None
            clip.lease_owner, clip.lease_expires_at = "", None
            clip.save()
            logger.warning("clip lease expired; queued again", extra={"clip_id": pk, "attempt": clip.attempts})
            requeued.append(pk)
    unsent = Q(sent_at__isnull=True, updated_at__lt=now - SEND_GRACE)
    # Sent long ago but never picked up: the message was lost with a broker restart.
    lost = Q(sent_at__lt=now - timedelta(seconds=settings.MEDIA_JOB_RESEND_SECONDS))
    due = SoundbiteClip.objects.filter(unsent | lost, state=State.QUEUED).values_list("pk", flat=True)
    sent = []
    for pk in dict.fromkeys([*requeued, *due]):
        if not clip_send(pk):
            break  # the broker is down: the next sweep tries again
        sent.append(pk)
    return sent


def _copy(key: str, target: Path) -> Path:
    with default_storage.open(key, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    return target


def clip_claim(*, clip_id: int, worker_id: str) -> SoundbiteClip | None:
    """Take the clip's lease, or None when it is done, failed, or being rendered by a live worker."""
    now = timezone.now()
    with transaction.atomic():
        clip = SoundbiteClip.objects.select_for_update().select_related("episode__show").filter(pk=clip_id).first()
        if clip is None or clip.state in {State.SUCCEEDED, State.FAILED}:
            return None
        if clip.state == State.RUNNING and clip.lease_expires_at and clip.lease_expires_at > now:
            return None
        if clip.attempts >= settings.MEDIA_JOB_MAX_ATTEMPTS:
            _fail(clip, TOO_MANY_TRIES.format(n=clip.attempts))
            return None
        clip.attempts += 1
        clip.state, clip.progress, clip.error = State.RUNNING, 0.0, ""
        clip.lease_owner, clip.lease_expires_at = worker_id, now + _lease()
        clip.save()
        return clip


def _mine(clip: SoundbiteClip) -> Q:
    return Q(pk=clip.pk, state=State.RUNNING, lease_owner=clip.lease_owner, attempts=clip.attempts)


class ClipBeat(LeaseKeeper):
    """Keeps a clip's lease alive while it renders; the rendered share (0–1) rides along."""

    name = "clip heartbeat"

    def __init__(self, clip: SoundbiteClip) -> None:
        super().__init__(tick=PROGRESS_EVERY_S, extra={"clip_id": clip.pk})
        self.clip = clip
        self.progress = 0.0
        self._interval = max(1.0, settings.MEDIA_JOB_LEASE_SECONDS / 4)
        self._written, self._last = 0.0, time.monotonic()

    def renew(self) -> None:
        progress = self.progress
        if progress == self._written and time.monotonic() - self._last < self._interval:
            return
        updated = SoundbiteClip.objects.filter(_mine(self.clip)).update(
            progress=progress, lease_expires_at=timezone.now() + _lease(), updated_at=timezone.now()
        )
        if not updated:
            raise LeaseLost(f"clip {self.clip.pk} is no longer leased by {self.clip.lease_owner}")
        self._written, self._last = progress, time.monotonic()


def _render(clip: SoundbiteClip, work: Path, beat: ClipBeat) -> Path:
    """Fetch the episode's sound, artwork and transcript into ``work`` and render the clip there."""
    episode = clip.episode
    sounds = list(Rendition.objects.filter(episode=episode, kind__in=AUDIO_KINDS))
    if not sounds:
        raise MediaError("The episode has no processed sound any more: process its media, then make the clip again.")
    audio = min(sounds, key=lambda r: AUDIO_KINDS.index(r.kind))
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

    def progress(percent: float) -> None:
        beat.progress = round(min(0.99, max(0.0, percent / 100)), 3)
        if beat.lost.is_set():
            raise LeaseLost(f"clip {clip.pk} was taken over")

    run(clip_argv(spec, ffmpeg=ffmpeg_binary()), duration_s=clip.duration, timeout_s=600 + 20 * clip.duration,
        on_progress=progress)  # fmt: skip
    return output


def _store(clip: SoundbiteClip, output: Path) -> None:
    """Store the finished file and mark the clip succeeded, if the clip is still ours."""
    key = f"clips/episodes/{clip.episode_id}/{clip.pk}-{clip.format}.mp4"
    with transaction.atomic():
        if not SoundbiteClip.objects.select_for_update().filter(_mine(clip)).exists():
            raise LeaseLost(f"clip {clip.pk} was taken over")
        if default_storage.exists(key):
            default_storage.delete(key)
        with output.open("rb") as out:
            stored = default_storage.save(key, File(out, name=Path(key).name))
        SoundbiteClip.objects.filter(pk=clip.pk).update(
            state=State.SUCCEEDED, progress=1.0, storage_key=stored, byte_size=output.stat().st_size,
            lease_expires_at=None,
        )  # fmt: skip


def clip_render(*, clip_id: int, worker_id: str) -> None:
    """Render a queued clip and store it; a failure is recorded on the row with its reason."""
    clip = clip_claim(clip_id=clip_id, worker_id=worker_id)
    if clip is None:
        return
    work = Path(tempfile.mkdtemp(prefix=f"clip-{clip.pk}-", dir=settings.MEDIA_WORK_DIR))
    try:
        with ClipBeat(clip) as beat:
            output = _render(clip, work, beat)
        if beat.lost.is_set():
            raise LeaseLost(f"clip {clip.pk} was taken over")
        _store(clip, output)
    except LeaseLost:
        logger.warning("clip taken over by another worker; leaving it", extra={"clip_id": clip.pk})
    except (MediaError, OSError, ValueError, Rendition.DoesNotExist) as exc:
        logger.warning("clip failed", extra={"clip_id": clip.pk}, exc_info=True)
        SoundbiteClip.objects.filter(_mine(clip)).update(state=State.FAILED, error=str(exc)[:2000],
                                                         lease_expires_at=None)  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
