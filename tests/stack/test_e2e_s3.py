"""The whole production path on a real S3 server and a real Redis-backed worker process:

resumable upload through the API with presigned multipart parts (sent out of order, resumed) → the worker
downloads the source, processes it and streams the renditions back → the feed's enclosure and the API's URLs
point at /d/ → /d/ redirects (302) to a presigned URL, or to the CDN when one fronts the bucket → a ranged GET
of that URL returns exactly the rendition's bytes.
"""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.test import Client

from episodes.models import Episode, ProcessingJob, Rendition, Show, Status
from episodes.services.content import episode_publish
from episodes.services.tokens import api_token_create
from tests.conftest import SeaweedFS, child_env, make_clip
from tests.stack.procs import Workers, purge, redis_broker_url, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.s3, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
MiB = 1024 * 1024


@pytest.fixture
def big_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of 24-bit 48 kHz stereo (5.5 MiB): two parts at S3's 5 MiB minimum part size."""
    return make_clip(
        tmp_path_factory.mktemp("clips") / "interview.wav",
        "-f", "lavfi", "-i", "anoisesrc=c=pink:a=0.08:d=20:r=48000,lowpass=f=4000,tremolo=f=3:d=0.7",
        "-ac", "2", "-c:a", "pcm_s24le",
    )  # fmt: skip


def http(method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    return urllib.request.urlopen(request, timeout=30)  # noqa: S310 - our loopback S3 server


def test_presigned_multipart_upload_to_ranged_enclosure_on_s3(
    settings: Any, s3_storage: SeaweedFS, show: Show, episode: Episode, big_wav: Path, tmp_path: Path
) -> None:
    broker = redis_broker_url()
    purge(broker)
    user = get_user_model().objects.create_user(username="producer", password=None)
    show.members.add(user)
    token = api_token_create(user=user, name="e2e")[1]
    client = Client(headers={"Authorization": f"Bearer {token}"})
    data = big_wav.read_bytes()
    assert len(data) > 5 * MiB

    workers = Workers({**child_env(settings), **s3_storage.env(settings.S3_BUCKET), "CELERY_BROKER_URL": broker},
                      tmp_path)  # fmt: skip
    workers.start("s3-worker")
    try:
        # 1. Open the upload: S3 backend, presigned part URLs, nothing received yet.
        response = client.post("/api/v1/uploads", {
            "type": "episode", "id": episode.pk, "filename": "Інтерв'ю.wav", "byte_size": len(data),
            "part_size": 5 * MiB, "sha256": hashlib.sha256(data).hexdigest(), "content_type": "audio/wav",
        }, content_type="application/json")  # fmt: skip
        assert response.status_code == 201, response.content
        session = response.json()
        assert session["backend"] == "s3" and session["part_count"] == 2
        assert set(session["part_urls"]) == {"1", "2"}
        assert all(url.startswith(s3_storage.endpoint_url) for url in session["part_urls"].values())

        # 2. The client sends the last part straight to S3, then the connection drops; it asks what is missing.
        part_size = session["part_size"]
        with http("PUT", session["part_urls"]["2"], data[part_size:]) as put:
            assert put.status == 200 and put.headers["ETag"]
        state = client.get(f"/api/v1/uploads/{session['id']}").json()
        assert state["missing_parts"] == [1] and state["received_bytes"] == len(data) - part_size
        with http("PUT", state["part_urls"]["1"], data[:part_size]) as put:
            assert put.status == 200

        # 3. Completion records the source and queues processing; the worker process takes it from Redis.
        done = client.post(f"/api/v1/uploads/{session['id']}/complete", {}, content_type="application/json")
        assert done.status_code == 200, done.content
        assert done.json()["state"] == "completed"
        job = ProcessingJob.objects.get(source_id=done.json()["source_id"])

        def finished() -> bool:
            job.refresh_from_db()
            return job.state in {ProcessingJob.State.SUCCEEDED, ProcessingJob.State.FAILED}

        wait_for(finished, 90, lambda: f"the job (state {job.state}):\n{workers.log_tail('s3-worker')}")
    finally:
        workers.stop_all()
    assert job.state == ProcessingJob.State.SUCCEEDED, (job.error, job.error_detail)
    # The source in the bucket is byte-for-byte the file that was uploaded.
    with default_storage.open(job.source.storage_key, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == hashlib.sha256(data).hexdigest()

    # 4. Publish; the feed's enclosure and the API name /d/ URLs, never bucket keys.
    episode.refresh_from_db()
    assert episode.status == Status.READY
    episode_publish(episode=episode)
    mp3 = Rendition.objects.get(episode=episode, kind=Rendition.Kind.AUDIO_MP3)
    feed = feedparser.parse(Client().get(f"/feeds/{show.slug}.xml").content)
    [entry] = feed.entries
    [enclosure] = [link for link in entry.links if link.get("rel") == "enclosure" and "mpeg" in link.type]
    assert int(enclosure.length) == mp3.byte_size
    path = urlsplit(enclosure.href).path
    assert path == f"/d/e/{episode.pk}/audio_mp3.{mp3.sha256[:12]}.mp3"  # the URL names these bytes (episodes.links)
    api_item = Client().get(f"/api/v1/episodes/{episode.pk}").json()
    assert any(urlsplit(r["url"]).path == path for r in api_item["renditions"] + api_item["sources"])
    assert mp3.storage_key not in str(api_item)

    # 5. /d/ redirects to a presigned URL on S3; a ranged GET of it returns exactly those bytes of the rendition.
    with default_storage.open(mp3.storage_key, "rb") as fh:
        stored = fh.read()
    redirect = Client().get(path, headers={"Range": "bytes=100-4195"})
    assert redirect.status_code == 302
    location = redirect["Location"]
    assert location.startswith(f"{s3_storage.endpoint_url}/{settings.S3_BUCKET}/") and "X-Amz-Signature=" in location
    with http("GET", location, headers={"Range": "bytes=100-4195"}) as ranged:
        assert ranged.status == 206
        assert ranged.headers["Content-Range"] == f"bytes 100-4195/{mp3.byte_size}"
        assert ranged.read() == stored[100:4196]

    # With a CDN in front of the bucket, /d/ sends listeners there instead (no signature needed).
    settings.S3_PUBLIC_BASE_URL = "https://cdn.example.test/media"
    via_cdn = Client().get(path)
    assert via_cdn.status_code == 302
    assert via_cdn["Location"] == f"https://cdn.example.test/media/{mp3.storage_key}"
