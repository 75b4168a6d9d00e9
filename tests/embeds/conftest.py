"""Embed fixtures: live media with rendition rows (fast tests) and a real web server process (browser tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from episodes.models import Article, ArticleEpisode, ArticleVideo, Episode, MediaSource, Rendition, Status, Video
from episodes.services.content import episode_create, video_create
from episodes.services.transcripts import transcript_attach
from tests.conftest import child_env, free_port

VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nПривіт, це пояснення.\n\n00:00:02.000 --> 00:00:03.000\nThe end.\n"
CHAPTERS = [{"start": 0, "title": "Вступ"}, {"start": 2, "title": "Новини"}]


def _rendition(owner: Episode | Video, source: MediaSource, kind: str, key: str, **fields: Any) -> Rendition:
    owner_field = {"episode": owner} if isinstance(owner, Episode) else {"video": owner}
    mime = {"video_mp4": "video/mp4", "hls": "application/vnd.apple.mpegurl", "poster": "image/jpeg",
            "thumbnail": "image/jpeg", "storyboard": "image/jpeg", "storyboard_vtt": "text/vtt",
            "audio_mp3": "audio/mpeg", "audio_aac": "audio/mp4", "audio_opus": "audio/ogg"}[kind]  # fmt: skip
    return Rendition.objects.create(
        **owner_field, source=source, kind=kind, mime_type=mime, byte_size=1000, storage_key=key, **fields
    )


def make_live(owner: Episode | Video) -> None:
    """Publish a row directly (the renditions here are rows only, not processed files)."""
    type(owner).objects.filter(pk=owner.pk).update(status=Status.PUBLISHED, publish_at=timezone.now())
    owner.refresh_from_db()


@pytest.fixture
def live_video(show: Any) -> Video:
    """A published 1280×720 video with a ladder, HLS, images, storyboard, a WebVTT transcript and an article."""
    video = video_create(
        show=show, title="Що таке санкції? <b>", slug="що-таке-санкції", description="<p>Пояснення</p>"
    )
    source = MediaSource.objects.create(video=video, storage_key="s.mp4", original_filename="s.mp4", byte_size=9)
    run = f"renditions/videos/{video.pk}/run"
    for variant, (w, h) in {"1080p": (1920, 1080), "720p": (1280, 720), "360p": (640, 360)}.items():
        _rendition(video, source, "video_mp4", f"{run}/{variant}.mp4", variant=variant, width=w, height=h,
                   duration=3.0, codecs="avc1.64001f,mp4a.40.2")  # fmt: skip
    _rendition(video, source, "hls", f"{run}/hls/master.m3u8")
    _rendition(video, source, "poster", f"{run}/poster.jpg", width=1280, height=720)
    _rendition(video, source, "thumbnail", f"{run}/thumbnail.jpg", width=320, height=180)
    _rendition(video, source, "storyboard_vtt", f"{run}/storyboard.vtt")
    transcript_attach(owner=video, language="uk", fmt="vtt", content=VTT)
    make_live(video)
    article = Article.objects.create(external_id="a1", url="https://news.example/a1", title="Санкції: що далі")
    ArticleVideo.objects.create(article=article, video=video)
    return video


@pytest.fixture
def live_episode(show: Any) -> Episode:
    """A published episode with AAC/MP3/Opus renditions and chapters."""
    episode = episode_create(show=show, title="Україна: тиждень 5", slug="тиждень-5", summary="Week five.",
                             chapters=CHAPTERS)  # fmt: skip
    source = MediaSource.objects.create(episode=episode, storage_key="s.wav", original_filename="s.wav", byte_size=9)
    run = f"renditions/episodes/{episode.pk}/run"
    _rendition(episode, source, "audio_mp3", f"{run}/audio.mp3", duration=4.0)
    _rendition(episode, source, "audio_aac", f"{run}/audio.m4a", duration=4.0)
    _rendition(episode, source, "audio_opus", f"{run}/audio.opus", duration=4.0)
    make_live(episode)
    article = Article.objects.create(external_id="a2", url="https://news.example/a2", title="Тиждень")
    ArticleEpisode.objects.create(article=article, episode=episode)
    return episode


# --- A real server process --------------------------------------------------------------------------------


@dataclass
class Server:
    base_url: str
    framing_origin: str  # a second loopback origin listed in NEWS_SITE_ORIGINS
    log: Path

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base_url + path, headers=headers or {})  # noqa: S310 - loopback
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()


def _wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - our loopback server
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the web server did not start:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def web_server_env() -> dict[str, str]:
    """Extra environment for the web server (a module overrides this fixture, e.g. to serve media from S3)."""
    return {}


@pytest.fixture
def web_server(
    settings: Any, transactional_db: None, tmp_path: Path, web_server_env: dict[str, str]
) -> Iterator[Server]:
    """gunicorn serving this test's database and media on 127.0.0.1 (static files by WhiteNoise from the finders)."""
    port, framing_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **child_env(settings),
        "DJANGO_SETTINGS_MODULE": "tests.embeds.server_settings",
        "PUBLIC_BASE_URL": base,
        "NEWS_SITE_ORIGINS": f"http://127.0.0.1:{framing_port}",
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        **web_server_env,
    }
    log = tmp_path / "gunicorn.log"
    argv = [
        sys.executable, "-m", "gunicorn", "media_hub.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--threads", "8", "--timeout", "60", "--access-logfile", "-",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    try:
        _wait_for(f"{base}/health/live", proc, log)
        yield Server(base, f"http://127.0.0.1:{framing_port}", log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
