"""Shared fixtures: isolated media storage, service requirements, and small content factories."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

REQUIRE_SERVICES = os.environ.get("MEDIA_HUB_REQUIRE_SERVICES") == "1"


def need(service: str, reason: str) -> None:
    """Skip on a bare laptop; fail in CI (MEDIA_HUB_REQUIRE_SERVICES=1), where every service must be there."""
    message = f"needs {service}: {reason}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (MEDIA_HUB_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def media_storage(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """Every test gets its own local media folder and scratch folder (S3 tests override STORAGES)."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield None  # pure-library tests run with -p no:django
        return
    settings = request.getfixturevalue("settings")
    root = tmp_path_factory.mktemp("media")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": "/media/"},
        },
    }
    settings.MEDIA_ROOT = root
    settings.MEDIA_WORK_DIR = tmp_path_factory.mktemp("work")
    yield root


@pytest.fixture
def show(db: None) -> Any:
    from episodes.services.content import show_create

    return show_create(
        title="Ukraine Insights",
        slug="ukraine-insights",
        description="Щотижневий огляд: the week in Ukraine.",
        categories=[["News", "Politics"]],
        author="Newsroom",
    )


@pytest.fixture
def episode(show: Any) -> Any:
    from episodes.services.content import episode_create

    return episode_create(show=show, title="Україна: тиждень 5", slug="тиждень-5", summary="Week five.")


def attach_fake_audio(episode: Any) -> Any:
    """Give an episode one MP3 rendition row so it counts as processed (for tests not about processing)."""
    from episodes.models import MediaSource, Rendition, Status

    source = MediaSource.objects.create(
        episode=episode, storage_key="sources/x.wav", original_filename="x.wav", byte_size=10, kind="audio"
    )
    Rendition.objects.create(
        episode=episode,
        source=source,
        kind=Rendition.Kind.AUDIO_MP3,
        mime_type="audio/mpeg",
        byte_size=1234,
        duration=61.5,
        storage_key="renditions/episodes/1/run/audio.mp3",
    )
    type(episode).objects.filter(pk=episode.pk).update(status=Status.READY)
    episode.refresh_from_db()
    return episode


@pytest.fixture
def ready_episode(episode: Any) -> Any:
    return attach_fake_audio(episode)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def now() -> Any:
    return timezone.now()


def make_clip(path: Path, *lavfi_args: str) -> Path:
    """Generate a tiny clip with the bundled ffmpeg (``lavfi_args`` go between the inputs and the output)."""
    import subprocess

    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *lavfi_args]
        + [str(path)],
        check=True,
        timeout=120,
    )
    return path


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four seconds of speech-like stereo noise."""
    src = "anoisesrc=c=pink:a=0.08:d=4:r=44100,highpass=f=100,lowpass=f=4000,tremolo=f=3:d=0.7"
    return make_clip(tmp_path_factory.mktemp("clips") / "speech.wav", "-f", "lavfi", "-i", src, "-ac", "2")


@pytest.fixture(scope="session")
def explainer_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three seconds of 320×180 test pattern with a tone."""
    return make_clip(
        tmp_path_factory.mktemp("clips") / "explainer.mp4",
        "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=3",
        "-f", "lavfi", "-i", "sine=f=330:d=3:sample_rate=48000",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
    )  # fmt: skip


def child_env(settings: Any) -> dict[str, str]:
    """Environment for a Django child process (worker, shell) sharing this test's database and storage."""
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "DATABASE_URL"))}
    if db["ENGINE"].endswith("postgresql"):
        env["DATABASE_URL"] = (
            f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/"
            f"{db['NAME']}"
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    env["MEDIA_WORK_DIR"] = str(settings.MEDIA_WORK_DIR)
    env["MEDIA_JOB_LEASE_SECONDS"] = str(settings.MEDIA_JOB_LEASE_SECONDS)
    return env
