"""The embeds on a news page in Chromium at phone, tablet and desktop widths: responsive snippets, one source at
start, hls.js where there is no native HLS, the player's menus, chapter marks, Media Session, reduced motion, and
a page that finds the player through oEmbed discovery (CORS for NEWS_SITE_ORIGINS only).

Screenshots: test-artifacts/share/.
"""

# ruff: noqa: F811 - the processed_* fixtures are imported from test_browser and then requested by name

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import pytest

from episodes.models import Episode, Video
from tests.conftest import free_port

from .conftest import Server
from .test_browser import (  # noqa: F401 - fixtures used by name
    ARTIFACTS,
    READER_UA,
    chromium,
    eager_tasks,
    parent_site,
    processed_episode,
    processed_video,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

SHOTS = ARTIFACTS / "share"
WIDTHS = (375, 768, 1280)
NO_NATIVE_HLS = """(() => {
  const real = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? "" : real.call(this, type);
  };
})();"""


def _article(body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Article</title>'
        "<style>body{margin:0;font:16px system-ui} main{max-width:720px;margin:0 auto;padding:0 12px}</style>"
        f"</head><body><main><h1>News article</h1><p>Text before the player.</p>{body}<p>Text after.</p></main>"
        "</body></html>"
    )


class MediaRequests:
    """The media a page (and its frames) asked for: HLS playlists and segments, MP4 renditions, audio."""

    def __init__(self, page: Any) -> None:
        self.urls: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url) if "/d/" in r.url else None)

    def count(self, needle: str) -> int:
        return sum(1 for u in self.urls if needle in u)

    def mp4_renditions(self) -> list[str]:
        return [u for u in self.urls if "/video_mp4" in u]


@contextmanager
def host(web_server: Server, html: str) -> Iterator[str]:
    """The news site (an origin listed in NEWS_SITE_ORIGINS) serving ``html`` at /article."""
    port = int(web_server.framing_origin.rsplit(":", 1)[1])
    with parent_site(port, html) as origin:
        yield origin + "/article"


def _oembed(web_server: Server, url: str, **params: Any) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, _, body = web_server.get(f"/oembed?url={quote(url, safe='')}&{query}")
    assert status == 200, body
    data: dict[str, Any] = json.loads(body)
    return data


def test_video_snippet_one_source_and_menus(web_server: Server, processed_video: Video) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    embed_url = f"{web_server.base_url}/embed/video/{processed_video.pk}/"
    show_title = processed_video.show.title  # the ORM stays outside the browser block
    snippet = _oembed(web_server, embed_url)["html"]
    report: dict[int, Any] = {}
    with chromium() as browser, host(web_server, _article(snippet)) as article_url:
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900}, user_agent=READER_UA)
            page = context.new_page()
            media = MediaRequests(page)
            page.goto(article_url, wait_until="load")
            frame = page.frame_locator("iframe")
            frame.locator("video").wait_for()
            page.wait_for_timeout(800)
            # Before play: the poster and the title are visible, and nothing but the one HLS source was touched.
            card = frame.locator(".title-card")
            assert card.is_visible() and card.inner_text().startswith(processed_video.title)
            assert frame.locator("video").get_attribute("poster")
            assert media.mp4_renditions() == [], media.urls
            page.screenshot(path=str(SHOTS / f"video-snippet-{width}-before-play.png"))
            # The frame is as wide as the column and as tall as the picture: no letterbox bars.
            box = page.locator("iframe").bounding_box()
            assert box is not None and box["width"] >= min(width, 720) - 24 - 2
            inner = page.frames[1]
            inner.evaluate("async () => { const v = document.querySelector('video'); v.muted = true; await v.play(); }")
            inner.wait_for_function("() => document.querySelector('video').currentTime > 1.0", timeout=20_000)
            video_ratio = inner.evaluate("(() => { const v = document.querySelector('video');"
                                         " return v.videoWidth / v.videoHeight; })()")  # fmt: skip
            assert abs(box["width"] / box["height"] - video_ratio) < 0.02, (box, video_ratio)
            # One source: the master playlist once, each init segment at most once, no MP4 rendition at all.
            assert media.count("master.m3u8") == 1, media.urls
            inits = [u for u in media.urls if "/init" in u]
            assert len(inits) == len(set(inits)) >= 1, media.urls
            assert media.mp4_renditions() == [], media.urls
            report[width] = {"requests": len(media.urls), "ratio": round(box["width"] / box["height"], 3)}
            page.screenshot(path=str(SHOTS / f"video-snippet-{width}-playing.png"))
            if width == 375:
                _video_menus(page, inner, processed_video, show_title)
            context.close()
    print(f"\nvideo snippet report: {report}")  # noqa: T201 - shown with -s


def _video_menus(page: Any, inner: Any, video: Video, show_title: str) -> None:
    # Media Session: the lock screen shows the title and the show.
    meta = inner.evaluate("(() => { const m = navigator.mediaSession.metadata; return [m.title, m.artist]; })()")
    assert meta == [video.title, show_title]
    # Speed.
    inner.select_option("select[aria-label=Speed]", "1.5")
    assert inner.evaluate("document.querySelector('video').playbackRate") == 1.5
    # Quality: Auto plus each MP4 rung (native HLS); picking one plays that file from the same time.
    labels = inner.eval_on_selector_all("select[aria-label=Quality] option", "os => os.map(o => o.textContent)")
    assert labels[0] == "Auto" and len(labels) >= 2
    at = inner.evaluate("document.querySelector('video').currentTime")
    inner.select_option("select[aria-label=Quality]", index=1)
    inner.wait_for_function("() => document.querySelector('video').currentSrc.includes('/video_mp4')", timeout=10_000)
    inner.wait_for_function(f"() => document.querySelector('video').currentTime >= {at - 0.3}", timeout=10_000)
    # Share: a link to the public page starting where the reader is.
    inner.evaluate("document.querySelector('video').pause()")
    inner.click(".share > button")
    link = inner.input_value(".share-link")
    assert link.startswith("http://127.0.0.1:") and f"/videos/{video.pk}/" in link and "?t=" in link
    inner.uncheck(".share-panel input[type=checkbox]")
    assert "?t=" not in inner.input_value(".share-link")
    page.screenshot(path=str(SHOTS / "video-375-share-menu.png"))


def test_hls_js_plays_where_there_is_no_native_hls(web_server: Server, processed_video: Video) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 768, "height": 432}, user_agent=READER_UA)
        context.add_init_script(NO_NATIVE_HLS)
        page = context.new_page()
        media = MediaRequests(page)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{web_server.base_url}/embed/video/{processed_video.pk}/?t=1", wait_until="load")
        page.wait_for_function("() => window.Hls && document.querySelector('select[aria-label=Quality]')",
                               timeout=20_000)  # fmt: skip
        assert page.evaluate("document.querySelector('video').canPlayType('application/vnd.apple.mpegurl')") == ""
        page.evaluate("async () => { const v = document.querySelector('video'); v.muted = true; await v.play(); }")
        page.wait_for_function("() => document.querySelector('video').currentTime > 1.8", timeout=20_000)
        src = page.evaluate("document.querySelector('video').currentSrc")
        assert src.startswith("blob:"), src  # MediaSource, fed by hls.js
        assert media.count("master.m3u8") == 1 and media.mp4_renditions() == [], media.urls
        inits = [u for u in media.urls if "/init" in u]
        assert len(inits) == len(set(inits)) >= 1, media.urls
        levels = page.eval_on_selector_all("select[aria-label=Quality] option", "os => os.map(o => o.value)")
        assert levels[0] == "auto" and any(v.startswith("level:") for v in levels)
        assert errors == []
        page.screenshot(path=str(SHOTS / "video-hlsjs-768.png"))
        context.close()


def test_audio_snippet_resizes_and_player_features(web_server: Server, processed_episode: Episode) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page_url = f"{web_server.base_url}/episodes/{processed_episode.pk}/x/"
    with chromium() as browser:
        for width in WIDTHS:
            data = _oembed(web_server, page_url, maxwidth=min(width - 24, 640))
            assert data["height"] >= 240  # both chapter lines, whatever the width
            with host(web_server, _article(data["html"])) as article_url:
                context = browser.new_context(viewport={"width": width, "height": 800}, user_agent=READER_UA)
                page = context.new_page()
                page.goto(article_url, wait_until="load")
                inner = page.frame_locator("iframe")
                inner.locator("audio").wait_for()
                frame = page.frames[1]
                frame.wait_for_function("() => document.querySelectorAll('.timeline .mark').length === 2",
                                        timeout=10_000)  # fmt: skip
                # The host script set the iframe to the player's own height: nothing clipped, nothing scrolls.
                inner_height = 0.0
                frame_height = -1.0
                for _ in range(50):  # the frame is cross-origin: compare the two sides from here
                    inner_height = frame.evaluate("document.documentElement.getBoundingClientRect().height")
                    frame_height = page.evaluate("document.querySelector('iframe').getBoundingClientRect().height")
                    if abs(inner_height - frame_height) <= 1:
                        break
                    page.wait_for_timeout(100)
                assert abs(inner_height - frame_height) <= 1, (inner_height, frame_height)
                scroll = frame.evaluate("document.documentElement.scrollHeight - window.innerHeight")
                assert scroll <= 1
                for button in frame.query_selector_all(".chapters button"):
                    box = button.bounding_box()
                    assert box is not None and box["y"] + box["height"] <= page.viewport_size["height"]
                page.screenshot(path=str(SHOTS / f"audio-snippet-{width}.png"))
                if width == 375:
                    _audio_features(frame, processed_episode)
                    # The open share panel made the player taller: the host frame followed, nothing is cut off.
                    page.wait_for_timeout(300)
                    inner_height = frame.evaluate("document.documentElement.getBoundingClientRect().height")
                    frame_height = page.evaluate("document.querySelector('iframe').getBoundingClientRect().height")
                    assert abs(inner_height - frame_height) <= 1 and frame_height > 300, (inner_height, frame_height)
                    assert frame.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
                    page.screenshot(path=str(SHOTS / "audio-375-share-menu.png"))
                context.close()


def _audio_features(frame: Any, episode: Episode) -> None:
    frame.evaluate("async () => { const a = document.querySelector('audio'); a.muted = true; await a.play(); }")
    frame.select_option("select[aria-label=Speed]", "1.5")
    assert frame.evaluate("document.querySelector('audio').playbackRate") == 1.5
    assert frame.evaluate("navigator.mediaSession.metadata.title") == episode.title
    # The second chapter's mark sits where the chapter starts on the timeline (2 s of a 4 s episode).
    left = frame.evaluate("parseFloat(document.querySelectorAll('.timeline .mark')[1].style.left)")
    duration = frame.evaluate("document.querySelector('audio').duration")
    assert abs(left - 100 * 2 / duration) < 0.5
    frame.wait_for_function("() => document.querySelector('audio').currentTime > 1.2", timeout=10_000)
    frame.evaluate("document.querySelector('audio').pause()")
    frame.click(".share > button")
    link = frame.input_value(".share-link")
    assert f"/episodes/{episode.pk}/" in link and "?t=" in link


def test_reduced_motion_does_not_autoplay(web_server: Server, processed_video: Video) -> None:
    with chromium() as browser:
        for motion, expect_paused in (("reduce", True), ("no-preference", False)):
            context = browser.new_context(viewport={"width": 640, "height": 360}, reduced_motion=motion)
            page = context.new_page()
            page.goto(f"{web_server.base_url}/embed/video/{processed_video.pk}/?autoplay=1", wait_until="load")
            page.wait_for_timeout(2000)
            assert page.evaluate("document.querySelector('video').paused") is expect_paused, motion
            transition = page.evaluate("getComputedStyle(document.querySelector('.title-card')).transitionDuration")
            assert (transition == "0s") is expect_paused, (motion, transition)
            context.close()


def test_news_page_discovers_the_player_through_oembed(web_server: Server, processed_video: Video) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    public = f"{web_server.base_url}/videos/{processed_video.pk}/{quote(processed_video.slug)}/"
    # The news site's own script: read the public page, follow its oEmbed <link>, insert the player.
    script = f"""<div id="slot"></div><p id="result">pending</p><script>
    (async () => {{
      try {{
        const page = await (await fetch({json.dumps(public)})).text();
        const doc = new DOMParser().parseFromString(page, "text/html");
        const link = doc.querySelector('link[rel=alternate][type="application/json+oembed"]');
        const data = await (await fetch(link.href + "&maxwidth=600")).json();
        document.getElementById("slot").innerHTML = data.html;
        document.getElementById("result").textContent = "ok:" + data.type;
      }} catch (e) {{ document.getElementById("result").textContent = "blocked"; }}
    }})();
    </script>"""
    with chromium() as browser:
        with host(web_server, _article(script)) as article_url:
            page = browser.new_page(viewport={"width": 768, "height": 900})
            page.goto(article_url, wait_until="load")
            page.wait_for_function("() => document.getElementById('result').textContent !== 'pending'", timeout=10_000)
            assert page.inner_text("#result") == "ok:video"
            page.frame_locator("iframe").locator("video").wait_for(timeout=10_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / "discovery-768.png"))
            page.close()
        # Any other origin cannot read the page or the oEmbed answer.
        with parent_site(free_port(), _article(script)) as other:
            page = browser.new_page()
            page.goto(other + "/article", wait_until="load")
            page.wait_for_function("() => document.getElementById('result').textContent !== 'pending'", timeout=10_000)
            assert page.inner_text("#result") == "blocked"
            page.close()
