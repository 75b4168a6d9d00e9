"""The producer's journey in Debian's headless Chromium against a real gunicorn: log in, see the processed
episode's waveform, set chapters on it, publish, find the item in the feed with those chapters; a producer of
another show sees none of it. Screenshots: test-artifacts/studio/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from episodes.media_config import ffmpeg_binary
from episodes.models import Episode, ProcessingJob, Show, SoundbiteClip, Status
from episodes.services.content import show_create
from tests.conftest import cover_art, need
from tests.embeds.conftest import Server, web_server, web_server_env  # noqa: F401 - fixtures used by name

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "studio"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The web server cuts uploads into 64 KiB parts, so a small test file still has many parts to show."""
    monkeypatch.setenv("UPLOAD_PART_MIN_BYTES", "65536")
    monkeypatch.setenv("UPLOAD_PART_MAX_BYTES", "65536")


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM.exists():
        need("chromium", "Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        browser.close()


def _login(browser: Any, server: Server, username: str, password: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server.base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    return page


def _run_queued_job(episode_id: int, done: threading.Event) -> None:
    """Play the worker: take the queued job of this episode and run it (the page polls meanwhile)."""
    from django.db import connection

    from episodes.services.processing import job_run

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = ProcessingJob.objects.filter(source__episode_id=episode_id, state="queued").first()
            if job is not None:
                job_run(job_id=job.pk, worker_id="test-worker")
                return
            time.sleep(0.3)
    finally:
        connection.close()
        done.set()


def _render_clip(clip_id: int, done: threading.Event) -> None:
    """Play the worker for one social clip."""
    from django.db import connection

    from episodes.services.clips import clip_render

    try:
        clip_render(clip_id=clip_id, worker_id="test-worker")
    finally:
        connection.close()
        done.set()


def processed_draft_video(show: Show, clip: Path, *, slug: str) -> Any:
    """A draft video of ``show`` whose upload ``clip`` was processed here (the worker's part, run eagerly)."""
    from django.core.files import File

    from episodes.services.content import video_create
    from episodes.services.uploads import media_source_create
    from media_hub.celery import app

    video = video_create(show=show, title="Що таке санкції?", slug=slug)
    app.conf.task_always_eager = True
    try:
        with clip.open("rb") as fh:
            source = media_source_create(owner=video, file=File(fh, name="clip.mp4"), filename="clip.mp4")
    finally:
        app.conf.task_always_eager = False
    assert source.jobs.get().state == ProcessingJob.State.SUCCEEDED
    return video


def test_the_producer_journey_upload_progress_processing_chapters_publish_feed(
    web_server: Server,  # noqa: F811 - the imported fixture
    browser: Any,
    show: Show,
    speech_wav: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    tmp_path: Path,
) -> None:
    # Each ffmpeg run takes a second longer, so this short clip's job lasts several of the page's 2 s polls (on a
    # fast machine it would finish between two of them, and no stage could be seen moving).
    slow = tmp_path / "slow-ffmpeg"
    slow.write_text(f'#!/bin/sh\nsleep 1\nexec {ffmpeg_binary()} "$@"\n')
    slow.chmod(0o755)
    settings.FFMPEG_BINARY = str(slow)
    a = User.objects.create_user("producer_a", password="pw-a-123456")
    b = User.objects.create_user("producer_b", password="pw-b-123456")
    show.members.add(a)
    other = show_create(title="Kyiv Explained", slug="kyiv-explained", description="E.", categories=[["News"]],
                        artwork=cover_art("k.png"))  # fmt: skip
    other.members.add(b)
    base = web_server.base_url

    page = _login(browser, web_server, "producer_a", "pw-a-123456")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # 1. A new episode: the slug fills itself from the title.
    page.goto(f"{base}/admin/episodes/episode/add/")
    page.select_option("#id_show", label="Ukraine Insights")
    page.fill("#id_title", "Тиждень 6")
    page.fill("#id_summary", "Week six.")
    page.click("input[name=_continue]")
    page.wait_for_selector("#studio-upload:not([hidden])")
    episode = Episode.objects.get(title="Тиждень 6")
    assert episode.slug == "тиждень-6"

    # 2. Upload over a slow link (64 KiB parts, 150 KB/s): the bar moves; a reload mid-way resumes.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": -1,
                                                  "uploadThroughput": 150_000})  # fmt: skip
    page.set_input_files("#studio-file", str(speech_wav))
    seen: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not seen or seen[-1] < 35):
        seen.append(int(page.eval_on_selector("#studio-upload progress", "e => e.value")))
        time.sleep(0.25)
    page.screenshot(path=str(SHOTS / "1-upload-progress.png"))
    assert len(set(seen)) >= 3, seen  # the bar moved through several values
    assert "MB of" in page.inner_text("[data-upload-text]") and "left" in page.inner_text("[data-upload-text]")
    page.reload()
    assert "was interrupted" in page.inner_text("[data-upload-resume]")
    page.set_input_files("#studio-file", str(speech_wav))
    page.wait_for_selector("[data-upload-text]:has-text('resumed')", timeout=15000)
    page.screenshot(path=str(SHOTS / "2-upload-resumed-after-reload.png"))
    page.wait_for_selector("#studio-status:has-text('Waiting for a worker'), #studio-status:has-text('Queued')",
                           timeout=60000)  # fmt: skip

    # 3. Publish when ready, then the worker runs; the page shows the stages as they change, then reloads.
    page.click("button[value=when_ready]")
    page.wait_for_selector("[data-field=when_ready]:not([hidden])")
    done = threading.Event()
    threading.Thread(target=_run_queued_job, args=(episode.pk, done), daemon=True).start()
    stages: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not done.is_set():
        try:
            label = page.inner_text("[data-field=stage_label]", timeout=2000)
            if label and (not stages or stages[-1] != label):
                stages.append(label)
                if len(stages) == 2:
                    page.screenshot(path=str(SHOTS / "3-processing-live.png"))
        except Exception:  # noqa: BLE001, S112 - the page reloads itself when the job ends
            continue
        time.sleep(0.3)
    page.wait_for_selector("#studio-waveform[data-ready='1']", timeout=30000)
    episode.refresh_from_db()
    assert episode.status == Status.PUBLISHED, episode.publish_problem  # published the moment it was ready
    assert len(stages) >= 2, stages  # the stage moved in place, not just "0 %" then "Done"
    page.screenshot(path=str(SHOTS / "4-published-with-waveform.png"), full_page=True)
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet in portrait
    page.screenshot(path=str(SHOTS / "4b-tablet-width.png"))
    wide = page.evaluate(
        """() => [...document.querySelectorAll('section.studio, .studio-rows')]
              .filter(e => e.getBoundingClientRect().right > 821).map(e => e.className)"""
    )
    assert wide == []  # the studio's panel and row tables fit a tablet's width
    page.set_viewport_size({"width": 1280, "height": 900})

    # 4. Chapters on the waveform: one typed at 0:00, one at the playhead set by clicking the waveform.
    page.fill("#id_chapters-0-start", "0:00")
    page.fill("#id_chapters-0-title", "Вступ")
    canvas = page.locator("#studio-waveform canvas")
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] * 0.5, "y": box["height"] / 2})  # scrolls it into view first
    page.click("[data-add-chapter]")
    page.keyboard.type("Новини")
    start = page.locator("#id_chapters-1-start").input_value()
    assert start not in {"", "0:00"}, (page.locator("[data-wave-info]").inner_text(), errors)
    # A soundbite: Shift+drag across the middle half of the waveform.
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    y = box["y"] + box["height"] / 2
    page.keyboard.down("Shift")
    page.mouse.move(box["x"] + box["width"] * 0.25, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, y, steps=5)
    page.mouse.up()
    page.keyboard.up("Shift")
    assert page.locator("#id_soundbites-1-duration").input_value() not in {"", "0"}
    page.screenshot(path=str(SHOTS / "5-chapters-on-the-waveform.png"), full_page=True)
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")
    episode.refresh_from_db()
    assert [c["title"] for c in episode.chapters] == ["Вступ", "Новини"]
    assert 1 <= episode.chapters[1]["start"] <= 3
    assert len(episode.soundbites) == 1 and 1.5 <= episode.soundbites[0]["duration"] <= 2.5, episode.soundbites

    # 4a. Listen to the soundbite: its Play button plays just that span, then stops.
    bite = episode.soundbites[0]
    page.click("[data-play-bite][aria-label='Play soundbite 1']")
    page.wait_for_function("() => !document.querySelector('#studio-audio').paused", timeout=10000)
    page.wait_for_function("() => document.querySelector('#studio-audio').paused", timeout=15000)
    stopped = page.evaluate("() => document.querySelector('#studio-audio').currentTime")
    assert bite["start"] + bite["duration"] - 0.05 <= stopped <= bite["start"] + bite["duration"] + 0.5, (stopped, bite)

    # 4b. A social clip of that soundbite, from the same page: queued, rendered by the worker, downloadable.
    page.select_option("#studio-clip-format", "square")
    page.click(".studio-clip-request button")
    page.wait_for_selector("#studio-clips [data-clip]")
    clip = SoundbiteClip.objects.get(episode=episode)
    assert clip.format == "square" and clip.state in {"queued", "running", "succeeded"}
    rendered = threading.Event()
    threading.Thread(target=_render_clip, args=(clip.pk, rendered), daemon=True).start()
    # The page polls its status while the clip renders and reloads once it is done: the link appears by itself.
    page.wait_for_selector("#studio-clips a:has-text('Download MP4')", timeout=90_000)
    assert rendered.wait(10)
    page.locator("#studio-clips").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "5b-social-clip-made.png"))
    download = page.request.get(base + page.locator("#studio-clips a:has-text('Download MP4')").get_attribute("href"))
    assert download.status == 200 and download.body()[4:8] == b"ftyp"

    # 5. The listener's side: the feed has the item, its chapters file has the chapters.
    status, _, feed = web_server.get("/feeds/ukraine-insights.xml")
    assert status == 200 and "Тиждень 6" in feed.decode()
    status, _, chapters = web_server.get(f"/d/e/{episode.pk}/chapters.json")
    assert status == 200 and "Новини" in chapters.decode()

    # 6. How it does: downloads per day, first 7/30 days, apps, embed views (rows as the counters write them).
    from datetime import timedelta

    from django.utils import timezone

    from feeds.models import DailyDownloads

    today = timezone.now().date()
    for age, app, n in [(0, "Apple Podcasts", 5), (0, "Overcast", 3), (1, "Spotify", 2)]:
        DailyDownloads.objects.create(day=today - timedelta(days=age), target=f"e:{episode.pk}", show=show,
                                      episode=episode, app=app, downloads=n)  # fmt: skip
    page.goto(f"{base}/admin/episodes/show/{show.pk}/studio/stats/")
    assert "Downloads per day: 10" in page.inner_text("#content")
    page.screenshot(path=str(SHOTS / "6-show-statistics.png"), full_page=True)

    # 7. A producer of another show sees none of it.
    other_page = _login(browser, web_server, "producer_b", "pw-b-123456")
    other_page.goto(f"{base}/admin/episodes/episode/")
    assert "Тиждень 6" not in other_page.content()
    other_page.goto(f"{base}/admin/episodes/episode/{episode.pk}/change/")
    assert "Тиждень 6" not in other_page.content()
    other_page.goto(f"{base}/admin/episodes/show/{show.pk}/studio/stats/")
    assert "Downloads per day" not in other_page.content()
    other_page.goto(f"{base}/admin/episodes/processingjob/")
    assert "take" not in other_page.content() and "speech.wav" not in other_page.content()
    other_page.screenshot(path=str(SHOTS / "7-other-producer-sees-nothing.png"), full_page=True)
    assert not errors, errors


def test_a_draft_video_previews_its_hls_ladder_with_hls_js_and_lists_its_files(
    web_server: Server,  # noqa: F811 - the imported fixture
    browser: Any,
    show: Show,
    explainer_mp4: Path,
) -> None:
    a = User.objects.create_user("producer_a", password="pw-a-123456")
    show.members.add(a)
    video = processed_draft_video(show, explainer_mp4, slug="санкції")
    page = _login(browser, web_server, "producer_a", "pw-a-123456")
    page.goto(f"{web_server.base_url}/admin/episodes/video/{video.pk}/change/")
    page.wait_for_selector("[data-video-mode]:has-text('HLS ladder')", timeout=20000)
    page.evaluate("() => { const v = document.querySelector('#studio-video'); v.muted = true; return v.play(); }")
    page.wait_for_function("document.querySelector('#studio-video').currentTime > 0.5", timeout=20000)
    # The storyboard scrubber: moving along it (here with the keyboard) shows each tile and moves the video.
    page.wait_for_selector("#studio-storyboard[data-ready='1']", timeout=10000)
    page.evaluate("() => document.querySelector('#studio-video').pause()")
    page.focus("#studio-scrub")
    page.keyboard.press("Home")
    first = page.get_attribute("[data-tile]", "style")
    for _ in range(20):  # 20 steps of 0.1 s: 2 s along, into the third tile (one a second on a short video)
        page.keyboard.press("ArrowRight")
    assert page.get_attribute("[data-tile]", "data-cue") == "2"
    assert page.get_attribute("[data-tile]", "style") != first and "background-position" in first
    assert abs(page.evaluate("() => document.querySelector('#studio-video').currentTime") - 2.0) < 0.3
    page.locator("#studio-storyboard").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "8b-storyboard-scrubber.png"))
    page.click(".studio-files summary")
    links = page.eval_on_selector_all(".studio-files a", "els => els.map(e => e.href)")
    assert len(links) >= 4
    for link in links:  # each rendition row links to its file (the producer's session; drafts included)
        response = page.request.get(link)
        assert response.status == 200 and len(response.body()) > 0, link
    page.screenshot(path=str(SHOTS / "8-video-preview-hls.png"), full_page=True)


def test_the_waveform_of_a_3_hour_episode_draws_and_zooms_without_stalling(
    web_server: Server,  # noqa: F811 - the imported fixture
    browser: Any,
    show: Show,
) -> None:
    import json
    import math
    import random

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from episodes.media.waveform import WaveformBuilder
    from episodes.models import MediaSource, Rendition
    from episodes.services.content import episode_create

    a = User.objects.create_user("producer_a", password="pw-a-123456")
    show.members.add(a)
    episode = episode_create(show=show, title="Three hours", slug="three-hours")
    # The pipeline's own builder over 3 h of 8 kHz PCM-shaped peaks (10 points a second): its real JSON size.
    builder = WaveformBuilder(sample_rate=8000, samples_per_pixel=800)
    seconds = 3 * 3600
    rng = random.Random(7)
    for second in range(seconds):
        level = int(8000 + 7000 * math.sin(second / 97))
        builder._data.extend(v for _ in range(10) for v in (-rng.randrange(level) // 256, rng.randrange(level) // 256))
    body = json.dumps(builder.result(), separators=(",", ":")).encode()
    key = default_storage.save(f"renditions/episodes/{episode.pk}/run/waveform.json", ContentFile(body))
    source = MediaSource.objects.create(episode=episode, storage_key="s.wav", original_filename="s.wav", byte_size=1)
    Rendition.objects.create(episode=episode, source=source, kind="waveform", mime_type="application/json",
                             byte_size=len(body), storage_key=key)  # fmt: skip
    Rendition.objects.create(episode=episode, source=source, kind="audio_mp3", mime_type="audio/mpeg", byte_size=1,
                             storage_key="missing.mp3", duration=float(seconds))  # fmt: skip
    page = _login(browser, web_server, "producer_a", "pw-a-123456")
    page.goto(f"{web_server.base_url}/admin/episodes/episode/{episode.pk}/change/")
    page.wait_for_selector("#studio-waveform[data-ready='1']", timeout=20000)
    timings = page.evaluate(
        """() => {
        const out = [];
        for (const zoom of ["in", "in", "in", "in", "in", "in", "out", "out", "out"]) {
          const t0 = performance.now();
          document.querySelector(`[data-zoom="${zoom}"]`).click();   // redraws synchronously
          out.push(performance.now() - t0);
        }
        return out;
    }"""
    )
    info = page.inner_text("[data-wave-info]")
    page.screenshot(path=str(SHOTS / "9-three-hour-waveform-zoomed.png"))
    print(f"3-hour waveform JSON: {len(body)} bytes; redraw per zoom step (ms): {[round(t, 1) for t in timings]}")
    assert "3:00:00" in info
    assert len(body) < 1_500_000
    assert max(timings) < 250, timings  # each zoom step redraws in well under a frame budget of a click


def test_a_producer_schedules_on_the_edit_page_and_finds_it_on_the_publishing_calendar(
    web_server: Server,  # noqa: F811 - the imported fixture
    browser: Any,
    show: Show,
    ready_episode: Episode,
) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from episodes.services.content import show_update

    show_update(show=show, time_zone="Europe/Kyiv")
    a = User.objects.create_user("producer_a", password="pw-a-123456")
    show.members.add(a)
    page = _login(browser, web_server, "producer_a", "pw-a-123456")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{web_server.base_url}/admin/episodes/episode/{ready_episode.pk}/change/")
    page.fill("#id_day", "2031-03-01")
    page.fill("#id_at", "09:30")
    page.click("button[name=action][value=schedule]")
    page.wait_for_selector("text=(live 2031-03-01 09:30 EET)")  # in the show's zone, as the producer set it
    ready_episode.refresh_from_db()
    assert ready_episode.publish_at == datetime(2031, 3, 1, 9, 30, tzinfo=ZoneInfo("Europe/Kyiv"))

    page.click("a:text-is('Calendar')")
    page.wait_for_url("**/studio/calendar/?month=2031-03")
    assert page.locator(".studio-calendar-grid caption").inner_text() == "March 2031"
    entry = page.locator("td li", has_text=ready_episode.title)
    assert entry.count() == 1
    assert entry.locator("xpath=ancestor::td").locator(".day").inner_text().startswith("1")
    text = entry.inner_text()
    assert "09:30 EET" in text and "Scheduled" in text and "Ukraine Insights" in text, text
    page.screenshot(path=str(SHOTS / "10-publishing-calendar.png"), full_page=True)
    page.focus("a[rel=next]")  # the month links work from the keyboard
    page.keyboard.press("Enter")
    page.wait_for_url("**/studio/calendar/?month=2031-04")
    assert page.locator("td li", has_text=ready_episode.title).count() == 0
    assert not errors, errors
