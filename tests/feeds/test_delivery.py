"""/d/ delivery on real files in local storage: ranges, HEAD, 416, visibility, HLS, transcripts; S3 redirects."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from episodes.models import Episode, Status
from episodes.services.content import episode_unpublish
from feeds.serving import ByteRange, Unsatisfiable, parse_range
from tests.feeds.factories import MP3_BYTES, add_rendition, add_transcript, live_episode, live_video, media_bytes, store

pytestmark = pytest.mark.django_db


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else bytes(response.content)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-", ByteRange(100, 999)),
        ("bytes=-500", ByteRange(500, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        ("bytes=900-5000", ByteRange(900, 999)),
        ("bytes = 1-2", ByteRange(1, 2)),
        (None, None),
        ("bytes=5-1", None),  # invalid: ignored, whole file
        ("items=0-1", None),
        ("bytes=0-1,5-6", None),  # several ranges: whole file
        ("bytes=abc", None),
    ],
)
def test_parse_range(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_parse_range_unsatisfiable(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, 1000)


@pytest.fixture
def mp3_url(show: Any) -> tuple[str, bytes]:
    episode = live_episode(show, 1)
    return f"/d/e/{episode.pk}/audio_mp3.mp3", media_bytes(MP3_BYTES, episode.pk)


def test_full_get_streams_the_file(client: Client, mp3_url: tuple[str, bytes]) -> None:
    url, content = mp3_url
    response = client.get(url)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "audio/mpeg" and response["Accept-Ranges"] == "bytes"
    assert int(response["Content-Length"]) == len(content) and body(response) == content


def test_range_206(client: Client, mp3_url: tuple[str, bytes]) -> None:
    url, content = mp3_url
    response = client.get(url, HTTP_RANGE="bytes=1000-1999")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 1000-1999/{len(content)}" and response["Content-Length"] == "1000"
    assert body(response) == content[1000:2000]


def test_suffix_and_open_ended_ranges(client: Client, mp3_url: tuple[str, bytes]) -> None:
    url, content = mp3_url
    suffix = client.get(url, HTTP_RANGE="bytes=-500")
    assert suffix.status_code == 206 and body(suffix) == content[-500:]
    assert suffix["Content-Range"] == f"bytes {len(content) - 500}-{len(content) - 1}/{len(content)}"
    tail = client.get(url, HTTP_RANGE=f"bytes={len(content) - 10}-")
    assert tail.status_code == 206 and body(tail) == content[-10:]


def test_unsatisfiable_416(client: Client, mp3_url: tuple[str, bytes]) -> None:
    url, content = mp3_url
    response = client.get(url, HTTP_RANGE=f"bytes={len(content)}-")
    assert response.status_code == 416 and response["Content-Range"] == f"bytes */{len(content)}"


def test_head_full_and_ranged(client: Client, mp3_url: tuple[str, bytes]) -> None:
    url, content = mp3_url
    head = client.head(url)
    assert head.status_code == 200 and head["Content-Length"] == str(len(content)) and body(head) == b""
    ranged = client.head(url, HTTP_RANGE="bytes=0-1")
    assert ranged.status_code == 206 and ranged["Content-Length"] == "2" and body(ranged) == b""


def test_conditional_requests(client: Client, mp3_url: tuple[str, bytes]) -> None:
    url, content = mp3_url
    first = client.get(url)
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    # If-Range with a stale validator: the whole (new) file instead of a piece of the wrong one.
    stale = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"old"')
    assert stale.status_code == 200 and body(stale) == content
    fresh = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=first["ETag"])
    assert fresh.status_code == 206 and body(fresh) == content[:10]


def test_changed_bytes_get_a_new_url_and_the_old_one_redirects(client: Client, show: Any, settings: Any) -> None:
    """A URL is one version of the bytes (a CDN keeps it an hour): re-processing moves the file to a new URL."""
    import hashlib

    from episodes.links import rendition_path

    episode = live_episode(show, 1)
    first = add_rendition(episode, "audio_mp3", content=b"old" * 100, sha256=hashlib.sha256(b"old" * 100).hexdigest())
    old_url = rendition_path(first)
    assert old_url == f"/d/e/{episode.pk}/audio_mp3.{first.sha256[:12]}.mp3"
    assert body(client.get(old_url)) == b"old" * 100
    second = add_rendition(
        episode, "audio_mp3", run="run2", content=b"new" * 100, sha256=hashlib.sha256(b"new" * 100).hexdigest()
    )
    new_url = rendition_path(second)
    assert new_url != old_url
    response = client.get(new_url)
    assert response.status_code == 200 and body(response) == b"new" * 100
    assert response["ETag"] == f'"{second.sha256[:32]}"'  # the same validator on every web process
    for url in (old_url, f"/d/e/{episode.pk}/audio_mp3.mp3"):
        moved = client.get(url)
        assert moved.status_code == 302 and moved["Location"] == f"{settings.PUBLIC_BASE_URL}{new_url}"
        assert moved["Cache-Control"] == "public, max-age=300"
    # Other extensions and malformed versions are not aliases.
    assert client.get(f"/d/e/{episode.pk}/audio_mp3.{second.sha256[:12]}.m4a").status_code == 404
    assert client.get(f"/d/e/{episode.pk}/audio_mp3.XYZ.mp3").status_code == 404


def test_downloads_are_named_after_the_show_and_episode(client: Client, show: Any) -> None:
    """RFC 6266: the saved file's name from the titles, UTF-8 in filename*, an ASCII filename for old clients;
    HEAD and ranged requests say the same as GET."""
    from urllib.parse import quote

    from episodes.links import rendition_path

    episode = live_episode(show, 1)
    rendition = add_rendition(episode, "audio_mp3")
    url = rendition_path(rendition)

    def named(title: str) -> list[str]:
        Episode.objects.filter(pk=episode.pk).update(title=title)
        responses = [client.get(url), client.head(url), client.get(url, HTTP_RANGE="bytes=0-9")]
        assert [r.status_code for r in responses] == [200, 200, 206]
        return [r["Content-Disposition"] for r in responses]

    # Characters file systems refuse (" / :) go; Cyrillic keeps too little in ASCII: a neutral ASCII name.
    unicode_name = "Ukraine Insights - Тиждень 5 енергетика зима.mp3"
    assert (
        named('Тиждень 5: "енергетика"/зима')
        == [f"inline; filename=\"episode-{episode.pk}-audio_mp3.mp3\"; filename*=UTF-8''{quote(unicode_name)}"] * 3
    )
    assert (
        named("Café à Kyiv")
        == [
            'inline; filename="Ukraine Insights - Cafe a Kyiv.mp3"; '
            "filename*=UTF-8''Ukraine%20Insights%20-%20Caf%C3%A9%20%C3%A0%20Kyiv.mp3"
        ]
        * 3
    )
    assert named("Week 5") == ['inline; filename="Ukraine Insights - Week 5.mp3"'] * 3


def test_drafts_scheduled_and_unpublished_are_404(client: Client, show: Any) -> None:
    draft = Episode.objects.create(show=show, title="Draft", slug="draft")
    add_rendition(draft, "audio_mp3")
    scheduled = live_episode(show, 2, publish_at=timezone.now() + timedelta(hours=1))
    pulled = live_episode(show, 3)
    episode_unpublish(episode=pulled)
    for episode in (draft, scheduled, pulled):
        response = client.get(f"/d/e/{episode.pk}/audio_mp3.mp3")
        assert response.status_code == 404 and response.content == b"Not found.\n"
    assert client.get("/d/e/999999/audio_mp3.mp3").status_code == 404


@pytest.mark.parametrize(
    "name", ["audio_mp3.mp4", "audio_mp3", "nothing.mp3", "hls.m3u8", "audio_mp3-x.mp3", "..", ".env", "a%2f..%2fb"]
)
def test_unknown_names_are_404(client: Client, mp3_url: tuple[str, bytes], name: str) -> None:
    url, _ = mp3_url
    assert client.get(url.rsplit("/", 1)[0] + "/" + name).status_code == 404


def test_transcripts(client: Client, show: Any) -> None:
    episode = live_episode(show, 1)
    add_transcript(episode, "vtt", text="WEBVTT\n\n00:00.000 --> 00:01.000\nПривіт\n")
    add_transcript(episode, "srt", text="1\n00:00:00,000 --> 00:00:01,000\nПривіт\n")
    vtt = client.get(f"/d/e/{episode.pk}/transcript-uk.vtt")
    assert vtt.status_code == 200 and vtt["Content-Type"] == "text/vtt; charset=utf-8"
    assert "Привіт" in body(vtt).decode()
    srt = client.get(f"/d/e/{episode.pk}/transcript-uk.srt")
    # SubRip has no charset of its own: without one, players read Cyrillic as Latin-1.
    assert srt["Content-Type"] == "application/x-subrip; charset=utf-8"
    assert "Привіт" in body(srt).decode()
    assert client.get(f"/d/e/{episode.pk}/transcript-en.vtt").status_code == 404


def test_hls_files_under_the_current_package_only(client: Client, show: Any, settings: Any) -> None:
    from episodes.links import rendition_path

    video = live_video(show)
    master = add_rendition(video, "hls", content=b"#EXTM3U\nv0/index.m3u8\n")
    folder = master.storage_key.rsplit("/", 1)[0]
    store(f"{folder}/v0/index.m3u8", b'#EXTM3U\n#EXT-X-MAP:URI="init_0.mp4"\nseg_000.m4s\n')
    store(f"{folder}/v0/seg_000.m4s", b"\x00" * 4096)
    store("secret.m3u8", b"#EXTM3U\n")
    master_url = rendition_path(master)
    base = master_url.rsplit("/", 1)[0]
    assert base.startswith(f"/d/v/{video.pk}/hls-")
    assert body(client.get(master_url)) == b"#EXTM3U\nv0/index.m3u8\n"
    playlist = client.get(f"{base}/v0/index.m3u8")
    assert playlist["Content-Type"] == "application/vnd.apple.mpegurl"
    segment = client.get(f"{base}/v0/seg_000.m4s", HTTP_RANGE="bytes=0-15")
    assert segment.status_code == 206 and segment["Content-Type"] == "video/iso.segment"
    assert segment["Access-Control-Allow-Origin"] == "*"
    for bad in ("../../../../secret.m3u8", "v0/../../secret.m3u8", "/etc/passwd", "v0/.hidden.m3u8",
                "v0/seg_999.m4s", "v0/index.txt", "v0//index.m3u8"):  # fmt: skip
        assert client.get(f"{base}/{bad}").status_code == 404, bad
    # Re-processed: a new folder version. The old master redirects; the old package's files are not the new
    # package's same-named files (a cache may hold the old ones): 404. Unversioned paths (from before versions) get
    # the master redirected and the current files.
    newer = add_rendition(video, "hls", run="run2", content=b"#EXTM3U\nv0/index.m3u8\n")
    store(f"{newer.storage_key.rsplit('/', 1)[0]}/v0/seg_000.m4s", b"\x01" * 4096)
    new_url = rendition_path(newer)
    assert new_url != master_url
    for old in (master_url, f"/d/v/{video.pk}/hls/master.m3u8"):
        moved = client.get(old)
        assert moved.status_code == 302 and moved["Location"] == f"{settings.PUBLIC_BASE_URL}{new_url}"
    assert client.get(f"{base}/v0/seg_000.m4s").status_code == 404
    assert body(client.get(f"/d/v/{video.pk}/hls/v0/seg_000.m4s")) == b"\x01" * 4096
    type(video).objects.filter(pk=video.pk).update(status=Status.READY)
    assert client.get(new_url).status_code == 404


def test_video_rendition_by_variant(client: Client, show: Any) -> None:
    video = live_video(show)
    response = client.get(f"/d/v/{video.pk}/video_mp4-720p.mp4", HTTP_RANGE="bytes=0-0")
    assert response.status_code == 206 and response["Content-Type"] == "video/mp4"
    assert client.get(f"/d/v/{video.pk}/video_mp4-1080p.mp4").status_code == 404


def test_missing_file_is_404_not_500(client: Client, show: Any) -> None:
    from django.core.files.storage import default_storage

    episode = live_episode(show, 1)
    default_storage.delete(episode.renditions.get(kind="audio_mp3").storage_key)
    assert client.get(f"/d/e/{episode.pk}/audio_mp3.mp3").status_code == 404


@pytest.fixture
def s3_mode(settings: Any) -> None:
    """S3 storage pointed at an address nothing listens on: presigning is local, nothing may call S3."""
    settings.S3_BUCKET = "media"
    settings.S3_PUBLIC_BASE_URL = ""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "media", "endpoint_url": "http://127.0.0.1:9", "access_key": "k", "secret_key": "s",
                "region_name": "us-east-1", "addressing_style": "path", "signature_version": "s3v4",
            },
        },
    }  # fmt: skip


def test_s3_mode_redirects_to_a_presigned_url(client: Client, show: Any, s3_mode: None) -> None:
    from episodes.models import Rendition

    episode = live_episode_without_files(show)
    key = Rendition.objects.get(episode=episode).storage_key
    response = client.get(f"/d/e/{episode.pk}/audio_mp3.mp3")
    assert response.status_code == 302 and response["Cache-Control"] == "no-store"
    location = urlsplit(response["Location"])
    assert location.netloc == "127.0.0.1:9" and location.path == f"/media/{key}"
    assert "X-Amz-Signature=" in location.query


def test_s3_mode_with_a_cdn(client: Client, show: Any, s3_mode: None, settings: Any) -> None:
    from episodes.models import Rendition

    settings.S3_PUBLIC_BASE_URL = "https://cdn.example.com"
    episode = live_episode_without_files(show)
    key = Rendition.objects.get(episode=episode).storage_key
    response = client.get(f"/d/e/{episode.pk}/audio_mp3.mp3")
    assert response.status_code == 302 and response["Location"] == f"https://cdn.example.com/{key}"


def live_episode_without_files(show: Any) -> Episode:
    """A live episode whose Rendition row points at a key (S3 tests never touch storage)."""
    from episodes.services.content import episode_create, episode_publish
    from tests.conftest import attach_fake_audio

    episode = attach_fake_audio(episode_create(show=show, title="S3", slug="s3"))
    return episode_publish(episode=episode)
