"""Social clips through the API and the worker job: request from a soundbite, progress, the stored MP4 (size,
captions in the frames come from tests/episodes/media/test_clips.py), download, permissions, the admin list."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from episodes.models import MediaSource, Rendition, SoundbiteClip
from episodes.services.content import episode_create
from episodes.services.transcripts import transcript_attach
from tests.conftest import need

from .conftest import go_live

pytestmark = pytest.mark.slow
SPEECH = "Привіт! Це огляд тижня. Енергетика, фронт і економіка. Дякуємо, що слухаєте."
VTT = "WEBVTT\n\n00:00:00.500 --> 00:00:02.500\nПривіт! Це огляд тижня.\n\n00:00:03.000 --> 00:00:05.000\nДякуємо.\n"


@pytest.fixture(autouse=True)
def eager_tasks() -> Iterator[None]:
    from media_hub.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def episode(show: Any, tmp_path: Path) -> Any:
    """A live episode whose AAC rendition is real Ukrainian speech (espeak-ng), with a transcript and a soundbite."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        need("espeak-ng", "generated speech for clip tests (apt-get install espeak-ng)")
        raise AssertionError("unreachable: need() skips or fails")
    import imageio_ffmpeg

    wav, m4a = tmp_path / "s.wav", tmp_path / "s.m4a"
    subprocess.run([espeak, "-v", "uk", "-w", str(wav), SPEECH], check=True)  # noqa: S603
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
                    "-c:a", "aac", str(m4a)], check=True)  # noqa: S603 # fmt: skip
    ep = episode_create(show=show, title="Тиждень 5", slug="tyzhden-5",
                        soundbites=[{"start": 0.2, "duration": 4.0, "title": "Найкраще за тиждень"}])  # fmt: skip
    source = MediaSource.objects.create(episode=ep, storage_key="s.wav", original_filename="s.wav", byte_size=9)
    key = default_storage.save(f"renditions/episodes/{ep.pk}/run/audio.m4a", ContentFile(m4a.read_bytes()))
    Rendition.objects.create(episode=ep, source=source, kind="audio_aac", mime_type="audio/mp4",
                             byte_size=m4a.stat().st_size, storage_key=key, duration=4.5)  # fmt: skip
    transcript_attach(owner=ep, language="uk", fmt="vtt", content=VTT)
    return go_live(ep)


@pytest.mark.django_db(transaction=True)  # the clip's lease is renewed from a thread with its own connection
def test_clip_is_made_by_the_worker_and_downloadable(api: Any, tokens: dict[str, str], episode: Any,
                                                     django_capture_on_commit_callbacks: Any) -> None:  # fmt: skip
    producer = api(tokens["a"])
    with django_capture_on_commit_callbacks(execute=True):
        created = producer.send("POST", f"/episodes/{episode.pk}/clips", {"soundbite": 0, "format": "square"})
    assert created.status_code == 201, created.content
    assert created.json()["state"] == "queued" and created.json()["title"] == "Найкраще за тиждень"
    clip = producer.get(f"/clips/{created.json()['id']}").json()
    assert clip["state"] == "succeeded", clip
    assert clip["progress"] == 1.0 and clip["download_url"] == f"/api/v1/clips/{clip['id']}/download"
    assert [c["id"] for c in producer.get(f"/episodes/{episode.pk}/clips").json()] == [clip["id"]]
    download = producer.get(f"/clips/{clip['id']}/download")
    assert download.status_code == 200 and download["Content-Type"] == "video/mp4"
    assert download["Content-Disposition"].startswith("attachment;") and "square.mp4" in download["Content-Disposition"]
    body = b"".join(download.streaming_content)
    assert body[4:8] == b"ftyp" and len(body) == clip["byte_size"]
    with av.open(io.BytesIO(body), mode="r") as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1080, 1080)
        assert abs(float(container.duration or 0) / av.time_base - 4.0) < 0.15
    # Another desk cannot see or download it (even though the episode is live); anonymous callers are refused.
    assert api(tokens["b"]).get(f"/clips/{clip['id']}").status_code in {403, 404}
    assert api(tokens["b"]).get(f"/clips/{clip['id']}/download").status_code in {403, 404}
    assert api(tokens["b"]).get(f"/episodes/{episode.pk}/clips").status_code in {403, 404}
    assert api().get(f"/clips/{clip['id']}").status_code == 401


def test_bad_requests_are_4xx(api: Any, tokens: dict[str, str], episode: Any) -> None:
    producer = api(tokens["a"])
    assert producer.send("POST", f"/episodes/{episode.pk}/clips", {"soundbite": 3, "format": "square"}
                         ).status_code == 422  # fmt: skip
    assert producer.send("POST", f"/episodes/{episode.pk}/clips", {"soundbite": 0, "format": "wide"}
                         ).status_code == 422  # fmt: skip
    assert api(tokens["b"]).send("POST", f"/episodes/{episode.pk}/clips", {"soundbite": 0, "format": "square"}
                                 ).status_code in {403, 404}  # fmt: skip
    assert SoundbiteClip.objects.count() == 0


def test_admin_lists_clips(admin_client: Any, episode: Any) -> None:
    clip = SoundbiteClip.objects.create(episode=episode, start=0.2, duration=4.0, title="Найкраще", format="vertical",
                                        state="succeeded", progress=1.0, storage_key="clips/x.mp4")  # fmt: skip
    page = admin_client.get("/admin/episodes/soundbiteclip/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Найкраще" in html and f"/admin/episodes/soundbiteclip/{clip.pk}/download/" in html and "100 %" in html


@pytest.mark.django_db(transaction=True)
def test_a_clip_left_by_a_dead_worker_is_rendered_on_the_next_attempt(episode: Any) -> None:
    """What a SIGKILLed worker leaves (running, lease run out, nothing stored) is finished by the next worker."""
    from datetime import timedelta

    from django.utils import timezone

    from episodes.services.clips import clips_sweep

    clip = SoundbiteClip.objects.create(
        episode=episode, start=0.2, duration=3.0, title="Найкраще", format="square", state="running", attempts=1,
        lease_owner="gone:1", lease_expires_at=timezone.now() - timedelta(seconds=1), progress=0.4,
    )  # fmt: skip
    assert clips_sweep() == [clip.pk]  # sent again; the eager worker renders it at once
    clip.refresh_from_db()
    assert (clip.state, clip.attempts, clip.progress, clip.error) == ("succeeded", 2, 1.0, "")
    assert not clip.lease_owner.startswith("gone")
    _, files = default_storage.listdir(f"clips/episodes/{episode.pk}")
    assert files == [f"{clip.pk}-square.mp4"]  # one file, stored once
    assert default_storage.size(clip.storage_key) == clip.byte_size


@pytest.mark.django_db(transaction=True)
def test_producer_makes_downloads_and_remakes_clips_in_the_admin(
    client: Any, users: dict[str, Any], episode: Any
) -> None:
    client.force_login(users["a"])
    page = client.get(f"/admin/episodes/episode/{episode.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="studio-clips"' in html and "Найкраще за тиждень" in html
    made = client.post(f"/admin/episodes/episode/{episode.pk}/studio/clips/", {"soundbite": "0", "format": "both"})
    assert made.status_code == 302 and made["Location"].endswith("#studio-clips")
    clips = list(SoundbiteClip.objects.filter(episode=episode).order_by("format"))
    assert [(c.format, c.state) for c in clips] == [("square", "succeeded"), ("vertical", "succeeded")]
    status = client.get(f"/admin/episodes/episode/{episode.pk}/studio/status.json").json()
    assert {c["format"]: c["state"] for c in status["clips"]} == {"square": "succeeded", "vertical": "succeeded"}
    html = client.get(f"/admin/episodes/episode/{episode.pk}/change/").content.decode()
    download_url = f"/admin/episodes/soundbiteclip/{clips[1].pk}/download/"
    assert download_url in html
    download = client.get(download_url)
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment;")
    body = b"".join(download.streaming_content)
    with av.open(io.BytesIO(body), mode="r") as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1080, 1920)
    # Bad requests say why and make nothing.
    for bad, reason in (({"soundbite": "7", "format": "square"}, "No clip was made: soundbite: this episode has no"),
                        ({"soundbite": "x", "format": "square"}, "Choose a soundbite and a format"),
                        ({"soundbite": "0", "format": "wide"}, "Choose a soundbite and a format")):  # fmt: skip
        answer = client.post(f"/admin/episodes/episode/{episode.pk}/studio/clips/", bad, follow=True)
        assert answer.status_code == 200 and reason in answer.content.decode()
    assert SoundbiteClip.objects.filter(episode=episode).count() == 2
    # A failed clip is made again from the page.
    SoundbiteClip.objects.filter(pk=clips[0].pk).update(state="failed", error="ffmpeg stopped")
    assert "Make again" in client.get(f"/admin/episodes/episode/{episode.pk}/change/").content.decode()
    again = client.post(f"/admin/episodes/soundbiteclip/{clips[0].pk}/retry/")
    assert again.status_code == 302
    assert SoundbiteClip.objects.get(pk=clips[0].pk).state == "succeeded"
    assert client.get(f"/admin/episodes/soundbiteclip/{clips[0].pk}/retry/").status_code == 405
    # Another show's producer reaches none of it.
    client.force_login(users["b"])
    assert client.get(download_url).status_code == 404
    assert client.post(f"/admin/episodes/soundbiteclip/{clips[0].pk}/retry/").status_code == 404
    assert client.post(f"/admin/episodes/episode/{episode.pk}/studio/clips/",
                       {"soundbite": "0", "format": "square"}).status_code == 404  # fmt: skip
    assert SoundbiteClip.objects.filter(episode=episode).count() == 2
