"""A producer's upload in Chromium on the production stack: the studio page sends the file's parts straight to
the bucket (presigned multipart PUTs to a real SeaweedFS, allowed by the CORS rule ``setup_storage`` writes), with
the bar moving, then the job processes the stored source. Screenshot: test-artifacts/studio/s3-upload.png."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.management import call_command

from episodes.models import MediaSource, ProcessingJob, Show
from episodes.services.content import episode_create
from tests.conftest import SeaweedFS, make_clip
from tests.embeds.conftest import Server, web_server  # noqa: F401 - the fixture is used by name
from tests.episodes.test_studio_browser import (  # noqa: F401 - browser is a fixture
    SHOTS,
    _login,
    _run_queued_job,
    browser,
    processed_draft_video,
)

pytestmark = [pytest.mark.slow, pytest.mark.s3, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MiB = 1024 * 1024


@pytest.fixture
def web_server_env(settings: Any, s3_storage: SeaweedFS) -> dict[str, str]:
    """The web server keeps its media in this test's bucket, like a production web machine."""
    return s3_storage.env(settings.S3_BUCKET)


@pytest.fixture
def long_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """22 s of 24-bit 48 kHz stereo (~6 MiB): above S3's 5 MiB minimum part size."""
    return make_clip(
        tmp_path_factory.mktemp("clips") / "інтерв'ю.wav",
        "-f", "lavfi", "-i", "anoisesrc=c=pink:a=0.08:d=22:r=48000,lowpass=f=4000,tremolo=f=3:d=0.7",
        "-ac", "2", "-c:a", "pcm_s24le",
    )  # fmt: skip


def test_the_studio_uploads_straight_to_s3_and_the_job_processes_it(
    web_server: Server,  # noqa: F811 - the imported fixture
    browser: Any,  # noqa: F811
    settings: Any,
    s3_storage: SeaweedFS,
    show: Show,
    long_wav: Path,
) -> None:
    base = web_server.base_url
    settings.S3_UPLOAD_ORIGINS = [base]
    call_command("setup_storage")  # the runbook's step: the bucket's CORS rule admits the studio's origin
    producer = User.objects.create_user("producer_s3", password="pw-s3-123456")
    show.members.add(producer)
    episode = episode_create(show=show, title="Інтерв'ю тижня", slug="interviu-tyzhnia")

    page = _login(browser, web_server, "producer_s3", "pw-s3-123456")
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    puts: list[str] = []
    page.on("requestfinished", lambda r: puts.append(r.url) if r.method == "PUT" else None)
    page.goto(f"{base}/admin/episodes/episode/{episode.pk}/change/")
    page.wait_for_selector("#studio-upload:not([hidden])")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 10, "downloadThroughput": -1,
                                                  "uploadThroughput": 1_500_000})  # fmt: skip
    page.set_input_files("#studio-file", str(long_wav))
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not seen or seen[-1] < 100):
        seen.append(int(page.eval_on_selector("#studio-upload progress", "e => e.value")))
        time.sleep(0.25)
    assert len(set(seen)) >= 3, seen  # the bar moved
    page.wait_for_selector("#studio-status:has-text('Waiting for a worker'), #studio-status:has-text('Queued')",
                           timeout=60000)  # fmt: skip

    # Every part went to the bucket, none through the web server.
    s3_puts = [u for u in puts if u.startswith(f"{s3_storage.endpoint_url}/{settings.S3_BUCKET}/")]
    assert s3_puts and all("partNumber=" in u and "X-Amz-Signature=" in u for u in s3_puts), puts
    assert not [u for u in puts if u.startswith(base)], puts
    source = MediaSource.objects.get(episode=episode)
    with default_storage.open(source.storage_key, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == hashlib.sha256(long_wav.read_bytes()).hexdigest()
    assert source.original_filename == "інтерв'ю.wav"

    done = threading.Event()
    threading.Thread(target=_run_queued_job, args=(episode.pk, done), daemon=True).start()
    assert done.wait(180)
    assert ProcessingJob.objects.get(source=source).state == "succeeded"
    # The page reloaded itself with the player: its sound and waveform come from the bucket (302 to presigned URLs;
    # the waveform is read by script, which the CORS rule's GET allows).
    page.wait_for_selector("#studio-waveform[data-ready='1']", timeout=30000)
    page.wait_for_function("() => document.querySelector('#studio-audio').duration > 20", timeout=30000)
    page.screenshot(path=str(SHOTS / "s3-upload-processed.png"), full_page=True)
    assert not problems, problems


def test_a_draft_video_on_s3_previews_its_hls_ladder(
    web_server: Server,  # noqa: F811 - the imported fixture
    browser: Any,  # noqa: F811
    settings: Any,
    s3_storage: SeaweedFS,
    show: Show,
    explainer_mp4: Path,
) -> None:
    """The studio's HLS preview of a draft on S3: playlists come from the app (their relative URIs resolve to it),
    every segment is a redirect to a presigned URL that hls.js or native HLS follows (CORS GET)."""
    settings.S3_UPLOAD_ORIGINS = [web_server.base_url]
    call_command("setup_storage")
    producer = User.objects.create_user("producer_s3", password="pw-s3-123456")
    show.members.add(producer)
    video = processed_draft_video(show, explainer_mp4, slug="sanktsii")
    page = _login(browser, web_server, "producer_s3", "pw-s3-123456")
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    segments: list[str] = []
    page.on("requestfinished", lambda r: segments.append(r.url) if ".m4s" in r.url or "/init" in r.url else None)
    page.goto(f"{web_server.base_url}/admin/episodes/video/{video.pk}/change/")
    page.wait_for_selector("[data-video-mode]:has-text('HLS ladder')", timeout=20000)
    page.evaluate("() => { const v = document.querySelector('#studio-video'); v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('#studio-video').currentTime > 0.5", timeout=30000)
    assert any(u.startswith(f"{s3_storage.endpoint_url}/") and "X-Amz-Signature=" in u for u in segments), segments
    page.screenshot(path=str(SHOTS / "s3-video-preview-hls.png"))
    assert not problems, problems
