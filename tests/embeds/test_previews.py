"""Link previews on public pages (Open Graph, Twitter player card, schema.org JSON-LD), the video sitemap, and
CORS on the pages and oEmbed for the news site's origins only. Drafts and scheduled items never appear."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # noqa: S405 - parsing our own response
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone

from episodes.embeds.previews import iso_duration, json_for_script
from episodes.models import Episode, Status, Video
from episodes.services.content import video_update

pytestmark = pytest.mark.django_db
NEWS = "https://news.example"
VIDEO_NS = "{http://www.google.com/schemas/sitemap-video/1.1}"


def _meta(html: str) -> dict[str, str]:
    return {
        name: content for _, name, content in re.findall(r'<meta (property|name)="([^"]+)" content="([^"]*)">', html)
    }


def _json_ld(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_video_page_has_player_card_and_video_object(client: Client, live_video: Video) -> None:
    html = client.get(f"/videos/{live_video.pk}/{quote(live_video.slug)}/").content.decode()
    meta = _meta(html)
    base = "http://127.0.0.1:8000"
    assert meta["og:type"] == "video.other" and meta["og:title"] == "Що таке санкції? &lt;b&gt;"
    assert meta["og:url"] == f"{base}/videos/{live_video.pk}/{quote(live_video.slug, safe='')}/"
    assert meta["og:image"] == f"{base}/d/v/{live_video.pk}/poster.jpg"
    assert meta["og:video"] == f"{base}/d/v/{live_video.pk}/video_mp4-720p.mp4"
    assert (meta["og:video:width"], meta["og:video:height"]) == ("1280", "720")
    assert meta["twitter:card"] == "player" and meta["twitter:player"] == f"{base}/embed/video/{live_video.pk}/"
    assert (meta["twitter:player:width"], meta["twitter:player:height"]) == ("640", "360")
    data = _json_ld(html)
    assert data["@type"] == "VideoObject" and data["name"] == "Що таке санкції? <b>"
    assert data["embedUrl"] == meta["twitter:player"] and data["contentUrl"] == meta["og:video"]
    assert data["thumbnailUrl"] == [meta["og:image"]] and data["duration"] == "PT3S"
    assert live_video.publish_at is not None and data["uploadDate"] == live_video.publish_at.isoformat()


def test_episode_page_has_podcast_episode(client: Client, live_episode: Episode) -> None:
    html = client.get(f"/episodes/{live_episode.pk}/{quote(live_episode.slug)}/").content.decode()
    meta = _meta(html)
    assert meta["og:audio"].endswith(f"/d/e/{live_episode.pk}/audio_mp3.mp3") and meta["og:audio:type"] == "audio/mpeg"
    assert meta["og:description"] == "Week five."
    data = _json_ld(html)
    assert data["@type"] == "PodcastEpisode" and data["name"] == live_episode.title
    assert data["partOfSeries"] == {"@type": "PodcastSeries", "name": "Ukraine Insights",
                                    "url": "http://127.0.0.1:8000/feeds/ukraine-insights.xml"}  # fmt: skip
    assert data["associatedMedia"]["contentUrl"] == meta["og:audio"] and data["timeRequired"] == "PT4S"


def test_hostile_title_cannot_break_out_of_json_ld(client: Client, live_video: Video) -> None:
    video_update(video=live_video, title='</script><script>alert(1)</script> & "x"')
    html = client.get(f"/videos/{live_video.pk}/{quote(live_video.slug)}/").content.decode()
    assert "<script>alert(1)" not in html
    assert html.count("</script>") == 1 + html.count("<script src=")  # the JSON-LD block's own end + external
    assert _json_ld(html)["name"] == '</script><script>alert(1)</script> & "x"'
    assert "\\u003c/script\\u003e" in str(json_for_script({"a": "</script>"}))


@pytest.mark.parametrize(("seconds", "expected"), [(None, ""), (0, ""), (4, "PT4S"), (61.6, "PT1M2S"),
                                                   (3725, "PT1H2M5S"), (3600, "PT1H0S")])  # fmt: skip
def test_iso_duration(seconds: float | None, expected: str) -> None:
    assert iso_duration(seconds) == expected


def test_video_sitemap_lists_live_videos_only(client: Client, live_video: Video, show: Any) -> None:
    draft = Video.objects.create(show=show, title="Draft", slug="draft")
    scheduled = Video.objects.create(show=show, title="Soon", slug="soon", status=Status.PUBLISHED,
                                     publish_at=timezone.now() + timedelta(minutes=5))  # fmt: skip
    response = client.get("/sitemaps/videos.xml")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    max_age = int(response["Cache-Control"].split("max-age=")[1])
    assert 0 < max_age <= 300  # not past the scheduled video's time
    root = ET.fromstring(response.content)  # noqa: S314 - our own response
    urls = root.findall("{http://www.sitemaps.org/schemas/sitemap/0.9}url")
    assert len(urls) == 1
    video = urls[0].find(f"{VIDEO_NS}video")
    assert video is not None
    assert video.findtext(f"{VIDEO_NS}title") == live_video.title
    assert video.findtext(f"{VIDEO_NS}player_loc", "").endswith(f"/embed/video/{live_video.pk}/")
    assert video.findtext(f"{VIDEO_NS}content_loc", "").endswith("video_mp4-720p.mp4")
    assert video.findtext(f"{VIDEO_NS}duration") == "3"
    for hidden in (draft, scheduled):
        assert (
            hidden.title.encode() not in response.content and f"/videos/{hidden.pk}/".encode() not in response.content
        )


def test_drafts_have_no_page_and_no_preview(client: Client, live_video: Video) -> None:
    Video.objects.filter(pk=live_video.pk).update(status=Status.READY)
    assert client.get(f"/videos/{live_video.pk}/{quote(live_video.slug)}/").status_code == 404
    assert live_video.title.encode() not in client.get("/sitemaps/videos.xml").content


def test_pages_and_oembed_allow_the_news_site_origin_only(client: Client, settings: Any, live_video: Video) -> None:
    settings.CORS_ALLOWED_ORIGINS = [NEWS]
    page = f"/videos/{live_video.pk}/{quote(live_video.slug)}/"
    oembed = f"/oembed?url={quote('http://127.0.0.1:8000' + page, safe='')}"
    for path in (page, oembed):
        allowed = client.get(path, headers={"Origin": NEWS})
        assert allowed.status_code == 200 and allowed["Access-Control-Allow-Origin"] == NEWS, path
        other = client.get(path, headers={"Origin": "https://evil.example"})
        assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other, path
