"""Media on a real S3 server (SeaweedFS): the storage helpers, multipart, presigned and ranged reads, and the
worker's path (fetch the source to a temp file, process, stream the renditions back)."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File
from django.core.files.storage import default_storage

from episodes.models import Episode, ProcessingJob, Rendition, Show, Status
from episodes.services import processing
from episodes.services.content import video_create
from episodes.services.uploads import media_source_create
from episodes.storage import sha256_of, storage_delete_prefix, storage_fetch_to, storage_put_file
from episodes.storage_urls import presigned_get_url
from tests.conftest import SeaweedFS

pytestmark = [pytest.mark.s3]


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - our loopback server
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, dict(response.headers), response.read()


def bucket_keys(server: SeaweedFS, bucket: str, prefix: str = "") -> set[str]:
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def test_storage_helpers_put_fetch_and_delete_prefix_on_s3(
    s3_storage: SeaweedFS, settings: Any, tmp_path: Path
) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(os.urandom(300_000))
    assert storage_put_file("renditions/episodes/1/run/a.bin", source) == "renditions/episodes/1/run/a.bin"
    storage_put_file("renditions/episodes/1/run/hls/v0/seg_000.m4s", source)
    # Writing the same key again replaces the object (deterministic keys, no "_abc123" suffixes).
    storage_put_file("renditions/episodes/1/run/a.bin", source)
    assert bucket_keys(s3_storage, settings.S3_BUCKET) == {
        "renditions/episodes/1/run/a.bin", "renditions/episodes/1/run/hls/v0/seg_000.m4s",
    }  # fmt: skip

    copy = tmp_path / "copy.bin"
    assert storage_fetch_to("renditions/episodes/1/run/a.bin", copy) == 300_000
    assert copy.read_bytes() == source.read_bytes()

    assert storage_delete_prefix("renditions/episodes/1/run") == 2
    assert bucket_keys(s3_storage, settings.S3_BUCKET) == set()
    assert storage_delete_prefix("renditions/episodes/404") == 0


def test_a_large_file_goes_up_in_parts_and_comes_back_intact(
    s3_storage: SeaweedFS, settings: Any, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:
        for _ in range(12):
            fh.write(os.urandom(1024 * 1024))
    storage_put_file("sources/episodes/1/abc/big.bin", big)

    head = s3_storage.client().head_object(Bucket=settings.S3_BUCKET, Key="sources/episodes/1/abc/big.bin")
    assert head["ContentLength"] == 12 * 1024 * 1024
    # A multipart object's ETag is "<md5 of the part md5s>-<part count>" (boto3 splits above 8 MiB).
    assert head["ETag"].strip('"').endswith("-2")
    back = tmp_path / "back.bin"
    storage_fetch_to("sources/episodes/1/abc/big.bin", back)
    assert sha256_of(back) == sha256_of(big)


def test_presigned_get_and_ranged_get_return_the_right_bytes(s3_storage: SeaweedFS, tmp_path: Path) -> None:
    data = os.urandom(200_000)
    (tmp_path / "audio.mp3").write_bytes(data)
    key = storage_put_file("renditions/episodes/7/run/audio.mp3", tmp_path / "audio.mp3")

    url = presigned_get_url(key, content_type="audio/mpeg")
    assert "X-Amz-Signature=" in url
    status, headers, body = http_get(url)
    assert status == 200 and body == data and headers["Content-Type"] == "audio/mpeg"

    status, headers, body = http_get(url, {"Range": "bytes=1000-1999"})
    assert status == 206 and body == data[1000:2000]
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    status, _, body = http_get(url, {"Range": "bytes=-500"})
    assert status == 206 and body == data[-500:]

    # A tampered signature is refused: the URL is the credential.
    with pytest.raises(urllib.error.HTTPError) as refused:
        http_get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
    assert refused.value.code == 403


# Committed rows: the job's heartbeat thread has its own database connection (as in a worker).
@pytest.mark.django_db(transaction=True)
def test_worker_path_on_s3_fetches_the_source_and_streams_renditions_back(
    s3_storage: SeaweedFS, settings: Any, episode: Episode, speech_wav: Path
) -> None:
    with speech_wav.open("rb") as fh:
        source = media_source_create(owner=episode, file=File(fh, name="speech.wav"), filename="speech.wav")
    job = processing.job_run(job_id=source.jobs.get().pk, worker_id="test")

    assert job is not None and job.state == ProcessingJob.State.SUCCEEDED, job and job.error_detail
    episode.refresh_from_db()
    assert episode.status == Status.READY
    renditions = list(Rendition.objects.filter(episode=episode))
    assert {"audio_mp3", "audio_aac", "audio_opus"} <= {r.kind for r in renditions}
    keys = bucket_keys(s3_storage, settings.S3_BUCKET)
    # The source is kept; every rendition row names an object of exactly its recorded size and hash.
    assert source.storage_key in keys
    for rendition in renditions:
        assert rendition.storage_key in keys
        with default_storage.open(rendition.storage_key, "rb") as fh:
            body = fh.read()
        assert len(body) == rendition.byte_size
        if rendition.sha256:
            assert hashlib.sha256(body).hexdigest() == rendition.sha256
    # Nothing was left in the worker's scratch space.
    assert list(Path(settings.MEDIA_WORK_DIR).glob("job-*")) == []


# Committed rows: the job's heartbeat thread has its own database connection (as in a worker).
@pytest.mark.django_db(transaction=True)
def test_reprocessing_on_s3_replaces_the_old_rendition_objects(
    s3_storage: SeaweedFS, settings: Any, show: Show, explainer_mp4: Path
) -> None:
    from episodes.services.uploads import media_reprocess

    video = video_create(show=show, title="Як працює енергосистема", slug="grid")
    with explainer_mp4.open("rb") as fh:
        source = media_source_create(owner=video, file=File(fh, name="explainer.mp4"), filename="explainer.mp4")
    processing.job_run(job_id=source.jobs.get().pk)
    first = bucket_keys(s3_storage, settings.S3_BUCKET, "renditions/")

    job = media_reprocess(owner=video)
    assert processing.job_run(job_id=job.pk).state == ProcessingJob.State.SUCCEEDED  # type: ignore[union-attr]
    second = bucket_keys(s3_storage, settings.S3_BUCKET, "renditions/")
    current = {r.storage_key for r in Rendition.objects.filter(video=video)}
    assert current <= second and not (first & second), "the old run's objects should be gone"
    assert {k.split("/")[3] for k in second} == {k.split("/")[3] for k in current}


@pytest.mark.django_db
def test_readiness_checks_the_s3_bucket(
    s3_storage: SeaweedFS, settings: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import free_port

    ready = client.get("/health/ready").json()
    assert ready["checks"]["storage"]["ok"], ready

    # The bucket's endpoint stops answering: the instance reports itself not ready (503), naming storage.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    dead = f"http://127.0.0.1:{free_port()}"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"],
                                                                "endpoint_url": dead}},
    }  # fmt: skip
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert not response.json()["checks"]["storage"]["ok"]
    assert "EndpointConnectionError" in response.json()["checks"]["storage"]["error"]
