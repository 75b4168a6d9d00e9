"""Clips keep the media jobs' guarantees (episodes.services.clips): the row is the outbox, a worker holds a lease,
the sweeper requeues a clip whose worker died (a bounded number of times, then fails it with a reason), and only
the lease holder may store the file. Rendering itself is covered with real ffmpeg in tests/episodes/api/test_clips.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from episodes.models import SoundbiteClip
from episodes.services import clips
from episodes.services.content import episode_create
from episodes.services.leases import LeaseLost

State = SoundbiteClip.State


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Messages handed to the broker (instead of a real one)."""
    from episodes.tasks import render_clip

    out: list[int] = []
    monkeypatch.setattr(render_clip, "apply_async", lambda args, **kw: out.append(args[0]))
    return out


@pytest.fixture
def clip(show: Any) -> SoundbiteClip:
    episode = episode_create(show=show, title="Тиждень", slug="tyzhden")
    return SoundbiteClip.objects.create(episode=episode, start=1.0, duration=5.0, title="Найкраще", format="square")


def _dead(clip: SoundbiteClip, *, attempts: int) -> None:
    """What a SIGKILLed worker leaves: running, its lease run out."""
    SoundbiteClip.objects.filter(pk=clip.pk).update(
        state=State.RUNNING, attempts=attempts, lease_owner="host:1", sent_at=timezone.now() - timedelta(minutes=5),
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip


@pytest.mark.django_db
def test_a_clip_whose_worker_died_is_queued_again_and_sent(clip: SoundbiteClip, sent: list[int]) -> None:
    _dead(clip, attempts=1)
    assert clips.clips_sweep() == [clip.pk]
    clip.refresh_from_db()
    assert (clip.state, clip.lease_owner, clip.lease_expires_at, clip.progress) == (State.QUEUED, "", None, 0.0)
    assert sent == [clip.pk] and clip.sent_at is not None
    # The next worker takes it: a new attempt with its own lease.
    taken = clips.clip_claim(clip_id=clip.pk, worker_id="host:2")
    assert taken is not None and taken.attempts == 2 and taken.lease_owner == "host:2"
    assert taken.lease_expires_at is not None and taken.lease_expires_at > timezone.now()


@pytest.mark.django_db
def test_a_live_lease_is_left_alone(clip: SoundbiteClip, sent: list[int]) -> None:
    taken = clips.clip_claim(clip_id=clip.pk, worker_id="host:1")
    assert taken is not None
    assert clips.clips_sweep() == [] and sent == []
    assert clips.clip_claim(clip_id=clip.pk, worker_id="host:2") is None  # a duplicate message does nothing
    assert SoundbiteClip.objects.get(pk=clip.pk).lease_owner == "host:1"


@pytest.mark.django_db
def test_after_the_last_attempt_the_clip_fails_with_a_reason(
    clip: SoundbiteClip, sent: list[int], settings: Any
) -> None:
    settings.MEDIA_JOB_MAX_ATTEMPTS = 3
    _dead(clip, attempts=3)
    assert clips.clips_sweep() == [] and sent == []
    clip.refresh_from_db()
    assert clip.state == State.FAILED and clip.lease_expires_at is None
    assert "started 3 times" in clip.error and "request the clip again" in clip.error
    # The producer asks again: fresh attempts, sent at once.
    again = clips.clip_retry(clip=clip)
    assert (again.state, again.attempts, again.error) == (State.QUEUED, 0, "")


@pytest.mark.django_db(transaction=True)
def test_a_request_made_while_the_broker_is_down_is_sent_by_the_sweeper(
    show: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from episodes.models import MediaSource, Rendition
    from episodes.tasks import render_clip

    episode = episode_create(show=show, title="Тиждень", slug="tyzhden",
                             soundbites=[{"start": 0.5, "duration": 3.0, "title": "Найкраще"}])  # fmt: skip
    source = MediaSource.objects.create(episode=episode, storage_key="s.wav", original_filename="s.wav", byte_size=9)
    key = default_storage.save(f"renditions/episodes/{episode.pk}/a.m4a", ContentFile(b"x"))
    Rendition.objects.create(episode=episode, source=source, kind="audio_aac", mime_type="audio/mp4", byte_size=1,
                             storage_key=key, duration=9.0)  # fmt: skip

    def broker_down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(render_clip, "apply_async", broker_down)
    made = clips.clip_request(episode=episode, soundbite=0, fmt="vertical")  # autocommit: sent (and failed) at once
    made.refresh_from_db()
    assert made.state == State.QUEUED and made.sent_at is None  # the request stands
    out: list[int] = []
    monkeypatch.setattr(render_clip, "apply_async", lambda args, **kw: out.append(args[0]))
    assert clips.clips_sweep() == []  # within the grace period its own send may still be under way
    assert clips.clips_sweep(now=timezone.now() + timedelta(seconds=10)) == [made.pk] and out == [made.pk]
    made.refresh_from_db()
    assert made.sent_at is not None


@pytest.mark.django_db
def test_only_the_lease_holder_renews_or_stores(clip: SoundbiteClip, tmp_path: Path) -> None:
    first = clips.clip_claim(clip_id=clip.pk, worker_id="host:1")
    assert first is not None
    _dead(first, attempts=1)  # host:1 stalled past its lease ...
    second = clips.clip_claim(clip_id=clip.pk, worker_id="host:2")  # ... and host:2 took the clip over
    assert second is not None and second.attempts == 2
    stale_beat = clips.ClipBeat(first)
    stale_beat.progress = 0.5  # its ffmpeg moved on: the beat writes, and finds the clip is no longer its own
    with pytest.raises(LeaseLost):
        stale_beat.renew()
    output = tmp_path / "clip.mp4"
    output.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    with pytest.raises(LeaseLost):
        clips._store(first, output)
    clip.refresh_from_db()
    assert clip.state == State.RUNNING and clip.lease_owner == "host:2" and clip.storage_key == ""
    clips._store(second, output)
    clip.refresh_from_db()
    assert clip.state == State.SUCCEEDED and clip.storage_key and clip.byte_size == output.stat().st_size


@pytest.mark.django_db(transaction=True)
def test_a_clip_of_an_episode_without_sound_fails_with_a_reason(clip: SoundbiteClip) -> None:
    clips.clip_render(clip_id=clip.pk, worker_id="host:1")  # its renditions are gone (e.g. the media was replaced)
    clip.refresh_from_db()
    assert clip.state == State.FAILED and clip.lease_expires_at is None
    assert clip.error == "The episode has no processed sound any more: process its media, then make the clip again."
