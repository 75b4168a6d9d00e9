"""Embed pages and public pages over the Django test client: what they render, their headers, what they hide."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone

from episodes.embeds.headers import frame_ancestors
from episodes.models import Episode, Status, Video

pytestmark = pytest.mark.django_db

NEWS = "https://news.example"


def urls_of(item: Episode | Video) -> list[str]:
    kind = "episode" if isinstance(item, Episode) else "video"
    return [f"/embed/{kind}/{item.pk}/", f"/{kind}s/{item.pk}/{quote(item.slug)}/", f"/{kind}s/{item.pk}/"]


def test_video_embed_has_sources_poster_captions_and_storyboard(client: Client, live_video: Video) -> None:
    response = client.get(f"/embed/video/{live_video.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<source src="([^"]+)" type="([^"]+)"', html)
    # The 720p rung first (article-sized), the rest as alternatives; all same-origin /d/ paths.
    assert [s[0] for s in sources] == [f"/d/v/{live_video.pk}/video_mp4-{v}.mp4" for v in ("720p", "1080p", "360p")]
    assert unescape(sources[0][1]) == 'video/mp4; codecs="avc1.64001f,mp4a.40.2"'
    assert f'poster="/d/v/{live_video.pk}/poster.jpg"' in html
    assert re.search(rf'data-hls="/d/v/{live_video.pk}/hls-[0-9a-f]{{12}}/master.m3u8"', html)
    assert f'data-storyboard="/d/v/{live_video.pk}/storyboard_vtt.vtt"' in html
    assert re.search(rf'<track kind="captions" src="/d/v/{live_video.pk}/transcript-uk.vtt" srclang="uk" '
                     r'label="Українська">', html)  # fmt: skip
    # Titles are escaped, never markup.
    assert "Що таке санкції? &lt;b&gt;" in html and "санкції? <b>" not in html
    assert 'aria-label="Video: Що таке санкції? &lt;b&gt;"' in html
    # Nothing outside this origin: no absolute URLs in src/href attributes.
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_start_time_and_muted_autoplay(client: Client, live_video: Video) -> None:
    plain = client.get(f"/embed/video/{live_video.pk}/").content.decode()
    assert "autoplay" not in plain and "data-start" not in plain and "#t=" not in plain
    assert " default>" not in plain  # captions are offered, not forced, when the viewer has sound
    html = client.get(f"/embed/video/{live_video.pk}/?t=1m30s&autoplay=1").content.decode()
    # The script starts it once it has picked one source (an autoplay attribute would fetch an MP4 first).
    assert re.search(r"<video [^>]* muted>", html) and " data-autoplay" in html and " autoplay" not in html
    assert 'data-start="90.0"' in html
    assert f'src="/d/v/{live_video.pk}/video_mp4-720p.mp4#t=90"' in html
    assert 'label="Українська" default>' in html  # muted autoplay shows the captions
    for raw, seconds in (("90", "90.0"), ("1:30", "90.0"), ("1:02:03", "3723.0"), ("2.5", "2.5")):
        assert f'data-start="{seconds}"' in client.get(f"/embed/video/{live_video.pk}/?t={raw}").content.decode()
    for junk in ("-5", "abc", "1e9", "99999999", "<script>"):
        response = client.get(f"/embed/video/{live_video.pk}/", {"t": junk, "autoplay": junk})
        assert response.status_code == 200 and b"data-start" not in response.content


def test_episode_embed_has_audio_sources_and_chapter_buttons(client: Client, live_episode: Episode) -> None:
    html = client.get(f"/embed/episode/{live_episode.pk}/").content.decode()
    assert re.findall(r'<source src="([^"]+)"', html) == [
        f"/d/e/{live_episode.pk}/audio_aac.m4a", f"/d/e/{live_episode.pk}/audio_mp3.mp3",
        f"/d/e/{live_episode.pk}/audio_opus.opus",
    ]  # fmt: skip
    assert "<audio controls" in html and "<video" not in html
    assert '<nav class="chapters" aria-label="Chapters">' in html
    assert '<button type="button" data-seek="2.0" data-title="Новини" aria-label="Play from 0:02: Новини">' in html


def test_embeds_are_framable_by_news_origins_only(client: Client, live_video: Video, settings: Any) -> None:
    settings.NEWS_SITE_ORIGINS = [NEWS, "https://*.news.example", "https://evil.example; script-src *"]
    response = client.get(f"/embed/video/{live_video.pk}/")
    assert "X-Frame-Options" not in response.headers
    csp = response.headers["Content-Security-Policy"]
    assert csp.endswith(f"; frame-ancestors 'self' {NEWS} https://*.news.example")
    # Everything else keeps Django's clickjacking protection.
    page = client.get(urls_of(live_video)[1])
    assert page.status_code == 200 and page.headers["X-Frame-Options"] == "DENY"
    oembed = client.get("/oembed", {"url": f"http://127.0.0.1:8000/embed/video/{live_video.pk}/"})
    assert oembed.headers["X-Frame-Options"] == "DENY"


def test_embeds_and_pages_have_a_strict_content_security_policy(
    client: Client, live_video: Video, settings: Any
) -> None:
    directives = dict(d.split(" ", 1) for d in client.get(f"/embed/video/{live_video.pk}/")["Content-Security-Policy"]
                      .split("; "))  # fmt: skip
    assert directives["default-src"] == "'none'" and directives["object-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"  # no inline code, no eval
    assert directives["base-uri"] == "'none'" and directives["form-action"] == "'none'"
    assert directives["media-src"] == "'self' blob: http://127.0.0.1:8000"
    page = client.get(urls_of(live_video)[1])["Content-Security-Policy"]
    assert page.startswith("default-src 'none'") and page.endswith("frame-ancestors 'none'")


@pytest.mark.parametrize(("s3", "origins"), [
    ({"S3_BUCKET": "media", "S3_ENDPOINT_URL": "https://s3.example.net:8333", "S3_ADDRESSING_STYLE": "path"},
     ["https://s3.example.net:8333"]),
    ({"S3_BUCKET": "media", "S3_ENDPOINT_URL": "https://s3.example.net", "S3_ADDRESSING_STYLE": "virtual"},
     ["https://s3.example.net", "https://media.s3.example.net"]),
    ({"S3_BUCKET": "media", "S3_REGION": "eu-central-1"},
     ["https://s3.eu-central-1.amazonaws.com", "https://media.s3.eu-central-1.amazonaws.com"]),
    ({"S3_BUCKET": "media", "S3_PUBLIC_BASE_URL": "https://cdn.example.com/media"}, ["https://cdn.example.com"]),
])  # fmt: skip
def test_media_may_come_from_where_d_redirects(settings: Any, s3: dict[str, str], origins: list[str]) -> None:
    from episodes.embeds.headers import content_security_policy, media_origins

    settings.S3_ENDPOINT_URL = settings.S3_PUBLIC_BASE_URL = ""
    settings.S3_ADDRESSING_STYLE, settings.S3_REGION = "path", "us-east-1"
    for name, value in s3.items():
        setattr(settings, name, value)
    assert media_origins() == ["http://127.0.0.1:8000", *origins]
    assert f"media-src 'self' blob: {' '.join(media_origins())};" in content_security_policy(framing="x")


def test_frame_ancestors_without_configured_origins_is_self_only(settings: Any) -> None:
    settings.NEWS_SITE_ORIGINS = []
    assert frame_ancestors() == "frame-ancestors 'self'"


def test_public_page_has_player_discovery_links_feed_and_articles(client: Client, live_video: Video) -> None:
    path = f"/videos/{live_video.pk}/{quote(live_video.slug)}/"
    assert path.isascii()  # the Unicode slug travels percent-encoded
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    page_url = f"http://127.0.0.1:8000{path}"
    oembed = f"http://127.0.0.1:8000/oembed?url={quote(page_url, safe='')}"
    assert f'<link rel="alternate" type="application/json+oembed" href="{oembed}&amp;format=json"' in html
    assert f'<link rel="alternate" type="text/xml+oembed" href="{oembed}&amp;format=xml"' in html
    assert "<h1>Що таке санкції? &lt;b&gt;</h1>" in html
    assert "<p>Пояснення</p>" in html
    assert 'href="http://127.0.0.1:8000/feeds/ukraine-insights.xml"' in html
    assert '<a href="https://news.example/a1">Санкції: що далі</a>' in html
    assert "<video controls" in html


def test_public_page_redirects_to_the_canonical_slug(client: Client, live_episode: Episode) -> None:
    canonical = f"/episodes/{live_episode.pk}/{quote(live_episode.slug)}/"
    for old in (f"/episodes/{live_episode.pk}/", f"/episodes/{live_episode.pk}/old-slug/"):
        response = client.get(old)
        assert response.status_code == 301 and response.headers["Location"] == canonical
    html = client.get(canonical).content.decode()
    assert "<h1>Україна: тиждень 5</h1>" in html and "Week five." in html
    assert '<a href="https://news.example/a2">Тиждень</a>' in html


@pytest.mark.parametrize("state", ["draft", "ready", "scheduled", "unpublished"])
def test_media_that_is_not_live_is_a_404_on_every_url(
    client: Client, live_video: Video, live_episode: Episode, state: str
) -> None:
    for item in (live_video, live_episode):
        fields: dict[str, Any] = {"status": Status.DRAFT, "publish_at": None}
        if state == "ready":
            fields = {"status": Status.READY}
        elif state == "scheduled":
            fields = {"publish_at": timezone.now() + timedelta(hours=1)}
        elif state == "unpublished":
            fields = {"status": Status.READY, "publish_at": timezone.now() - timedelta(hours=1)}
        type(item).objects.filter(pk=item.pk).update(**fields)
        for url in urls_of(item):
            response = client.get(url)
            assert response.status_code == 404, url
            assert item.title.encode() not in response.content
        kind = "episode" if isinstance(item, Episode) else "video"
        for target in (f"http://127.0.0.1:8000{urls_of(item)[0]}", f"http://127.0.0.1:8000{urls_of(item)[1]}"):
            response = client.get("/oembed", {"url": target})
            assert response.status_code == 404 and item.title.encode() not in response.content
        response = client.post("/embed/events", {"kind": kind, "id": item.pk}, content_type="application/json")
        assert response.status_code == 404


@pytest.mark.parametrize(
    "url",
    ["/embed/video/999999/", "/embed/video/99999999999999999999/", "/embed/episode/0/", "/videos/999999/x/",
     "/episodes/123456789012345678/x/", "/embed/video/abc/"],
)  # fmt: skip
def test_unknown_ids_are_404_not_500(client: Client, db: None, url: str) -> None:
    assert client.get(url).status_code == 404


def test_embeds_answer_get_and_head_only(client: Client, live_video: Video) -> None:
    assert client.head(f"/embed/video/{live_video.pk}/").status_code == 200
    assert client.post(f"/embed/video/{live_video.pk}/").status_code == 405
