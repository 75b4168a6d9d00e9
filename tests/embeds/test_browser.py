"""End to end in Debian's headless Chromium against a real gunicorn: processed media plays inside the embeds.

Screenshots go to test-artifacts/ (gitignored). Playwright drives /usr/bin/chromium; no browser is downloaded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files import File

from episodes.models import EmbedView, Episode, ProcessingJob, Show, Video
from episodes.services.content import episode_create, episode_publish, video_create, video_publish
from episodes.services.transcripts import transcript_attach
from episodes.services.uploads import media_source_create
from tests.conftest import need

from .conftest import CHAPTERS, VTT, Server

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
# Headless Chromium names itself HeadlessChrome, which the counting rules treat as a bot: look like a reader.
READER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
MAX_PAGE_BYTES = 30 * 1024


@pytest.fixture(autouse=True)
def eager_tasks() -> Iterator[None]:
    from media_hub.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _upload(owner: Episode | Video, path: Path, name: str) -> None:
    with path.open("rb") as fh:
        source = media_source_create(owner=owner, file=File(fh, name=name), filename=name)
    job = source.jobs.get()
    assert job.state == ProcessingJob.State.SUCCEEDED, (job.error, job.error_detail)


@pytest.fixture
def processed_video(show: Show, explainer_mp4: Path) -> Video:
    """A really processed explainer (ladder, HLS, poster, storyboard) with a WebVTT transcript, published."""
    video = video_create(show=show, title="Що таке санкції?", slug="що-таке-санкції")
    _upload(video, explainer_mp4, "санкції.mp4")
    transcript_attach(owner=video, language="uk", fmt="vtt", content=VTT)
    return video_publish(video=video)


@pytest.fixture
def processed_episode(show: Show, speech_wav: Path) -> Episode:
    """A really processed episode (AAC/MP3/Opus) with chapters, published."""
    episode = episode_create(show=show, title="Україна: тиждень 5", slug="тиждень-5", chapters=CHAPTERS)
    _upload(episode, speech_wav, "тиждень.wav")
    return episode_publish(episode=episode)


@contextmanager
def chromium() -> Iterator[Any]:
    """Playwright's Chromium = Debian's binary. Django ORM calls must stay outside this block (it runs a loop)."""
    if not CHROMIUM.exists():
        need("chromium", "Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Traffic:
    """Every request a page makes, and the bytes of its documents, scripts and stylesheets."""

    def __init__(self, page: Any) -> None:
        self.urls: list[str] = []
        self.page_bytes: dict[str, int] = {}
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("response", self._response)

    def _response(self, response: Any) -> None:
        if response.request.resource_type in {"document", "script", "stylesheet"} and response.status == 200:
            self.page_bytes[response.url] = len(response.body())

    def foreign(self, base: str) -> list[str]:
        return [u for u in self.urls if not u.startswith(base + "/") and not u.startswith("data:")]


def _media_state(page: Any, selector: str) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate(
        """(sel) => { const m = document.querySelector(sel);
            return {t: m.currentTime, paused: m.paused, src: m.currentSrc, error: m.error && m.error.code,
                    duration: m.duration, muted: m.muted}; }""",
        selector,
    )
    return state


def test_video_and_episode_embeds_play_in_chromium(
    web_server: Server, processed_video: Video, processed_episode: Episode
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    base = web_server.base_url
    report: dict[str, Any] = {}
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 640, "height": 360}, user_agent=READER_UA)
        page = context.new_page()
        traffic = Traffic(page)
        # The strict CSP (default-src 'none', our scripts only) must not block anything the player uses.
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        with page.expect_response(lambda r: r.url.endswith("/embed/events")) as beacon:
            page.goto(f"{base}/embed/video/{processed_video.pk}/?autoplay=1", wait_until="load")
            page.wait_for_selector("video")
            played = page.evaluate("async () => { await document.querySelector('video').play(); return true; }")
            assert played is True
            page.wait_for_function("() => document.querySelector('video').currentTime > 1.0", timeout=15_000)
        assert beacon.value.status == 204
        state = _media_state(page, "video")
        assert state["error"] is None and state["muted"] is True, state
        report["video_source"] = state["src"]
        # Captions: a <track kind="captions"> whose WebVTT file loads and parses into cues.
        cues = page.evaluate(
            """() => new Promise((done) => {
                const track = document.querySelector('video').textTracks[0];
                if (!track) return done(null);
                track.mode = 'showing';
                const poll = () => track.cues && track.cues.length ? done({kind: track.kind, lang: track.language,
                    text: track.cues[0].text}) : setTimeout(poll, 50);
                poll(); })"""
        )
        assert cues == {"kind": "captions", "lang": "uk", "text": "Привіт, це пояснення."}
        page.evaluate("() => { const v = document.querySelector('video'); v.pause(); v.currentTime = 1.0; }")
        page.wait_for_function("() => document.querySelector('video').seeking === false", timeout=5_000)
        page.wait_for_timeout(1200)  # the storyboard tile shown while seeking has gone again
        page.screenshot(path=str(ARTIFACTS / "embed-video.png"))
        report["video_page_bytes"] = sum(traffic.page_bytes.values())
        assert traffic.foreign(base) == []
        assert 0 < report["video_page_bytes"] < MAX_PAGE_BYTES, traffic.page_bytes

        # ?t= starts later: the MP4 fragment / the script seek there before playing.
        page.goto(f"{base}/embed/video/{processed_video.pk}/?t=2")
        page.wait_for_function("() => document.querySelector('video').currentTime >= 1.9", timeout=10_000)

        # Where HLS fails (or is blocked), the player falls back to the MP4 <source>s.
        page.route("**/hls-*/master.m3u8", lambda route: route.abort())
        page.goto(f"{base}/embed/video/{processed_video.pk}/?autoplay=1")
        page.wait_for_function("() => document.querySelector('video').currentTime > 0.5", timeout=15_000)
        report["video_fallback_source"] = _media_state(page, "video")["src"]
        assert "/d/v/" in report["video_fallback_source"] and ".mp4" in report["video_fallback_source"]

        # The episode: audio plays, and a chapter button works from the keyboard.
        context.close()
        context = browser.new_context(viewport={"width": 640, "height": 180}, user_agent=READER_UA)
        page = context.new_page()
        traffic = Traffic(page)
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{base}/embed/episode/{processed_episode.pk}/", wait_until="load")
        assert page.evaluate("async () => { await document.querySelector('audio').play(); return true; }") is True
        page.wait_for_function("() => document.querySelector('audio').currentTime > 0.5", timeout=15_000)
        state = _media_state(page, "audio")
        assert state["error"] is None and not state["paused"], state
        report["episode_source"] = state["src"]
        page.get_by_role("button", name="Play from 0:02: Новини").focus()
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('audio').currentTime >= 2.0", timeout=5_000)
        page.wait_for_selector('button[aria-current="true"][data-seek="2.0"]', timeout=5_000)
        page.screenshot(path=str(ARTIFACTS / "embed-episode.png"))
        report["episode_page_bytes"] = sum(traffic.page_bytes.values())
        assert traffic.foreign(base) == []
        assert 0 < report["episode_page_bytes"] < MAX_PAGE_BYTES, traffic.page_bytes
        context.close()
    assert violations == []
    print(f"\nembed browser report: {report}")  # noqa: T201 - shown with -s; the numbers for the issue
    assert "/d/v/" in report["video_source"] and "/d/e/" in report["episode_source"]
    # The play beacon counted one view of the video for this reader; the episode's beacon counted too.
    assert EmbedView.objects.filter(video=processed_video).count() == 1
    assert EmbedView.objects.filter(episode=processed_episode).count() == 1
    # The public pages, through the real server: Unicode slugs in the path, discovery links on this origin.
    for item, path in ((processed_video, "videos"), (processed_episode, "episodes")):
        status, _, body = web_server.get(f"/{path}/{item.pk}/{quote(item.slug)}/")
        assert status == 200 and item.title.encode() in body
        assert f'type="application/json+oembed" href="{base}/oembed?url='.encode() in body
        status, _, body = web_server.get(f"/oembed?url={quote(base + f'/{path}/{item.pk}/', safe='')}")
        assert status == 200 and json.loads(body)["type"] == ("video" if path == "videos" else "rich")


class _Parent(BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def parent_site(port: int, html: str) -> Iterator[str]:
    """A news-site page on its own origin (127.0.0.1:<port>) that frames an embed."""
    handler = type("Parent", (_Parent,), {"html": html.encode()})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_only_news_site_origins_can_frame_an_embed(web_server: Server, live_video: Video) -> None:
    from tests.conftest import free_port

    src = f"{web_server.base_url}/embed/video/{live_video.pk}/"
    page_html = f'<!doctype html><title>Article</title><iframe src="{src}" width="640" height="360"></iframe>'
    status, headers, _ = web_server.get(f"/embed/video/{live_video.pk}/")
    assert status == 200 and "X-Frame-Options" not in headers
    csp = headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; script-src 'self';") and "object-src 'none'" in csp
    assert csp.endswith(f"; frame-ancestors 'self' {web_server.framing_origin}")
    allowed_port = int(web_server.framing_origin.rsplit(":", 1)[1])
    results = {}
    with chromium() as browser:
        for name, port in (("allowed", allowed_port), ("other", free_port())):
            with parent_site(port, page_html) as origin:
                page = browser.new_page()
                page.goto(origin + "/article", wait_until="load")
                page.wait_for_timeout(500)
                frame = page.frames[1] if len(page.frames) > 1 else None
                results[name] = frame is not None and frame.url == src and frame.query_selector("video") is not None
                page.close()
    assert results == {"allowed": True, "other": False}
