"""oEmbed 1.0 (https://oembed.com/ §2.3): required fields per type, JSON and XML, sizes, errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # noqa: S405 - parsing our own response
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from episodes.embeds.oembed import fit
from episodes.models import Episode, Video

pytestmark = pytest.mark.django_db

BASE = "http://127.0.0.1:8000"
# §2.3.4: every response has type and version; video and rich add html, width and height.
REQUIRED = {"video": {"type", "version", "html", "width", "height"}, "rich": {"type", "version", "html", "width",
                                                                             "height"}}  # fmt: skip
THUMBNAIL = {"thumbnail_url", "thumbnail_width", "thumbnail_height"}
INTEGERS = {"width", "height", "thumbnail_width", "thumbnail_height", "cache_age"}


def validate(fields: dict[str, Any], expected_type: str) -> None:
    """Check a response against the spec's rules for its type (values are strings when read from XML)."""
    assert fields["version"] == "1.0" and fields["type"] == expected_type
    assert REQUIRED[expected_type] <= set(fields)
    # The three thumbnail fields come together or not at all.
    assert not (THUMBNAIL & set(fields)) or THUMBNAIL <= set(fields)
    for name in INTEGERS & set(fields):
        assert int(fields[name]) > 0, name
    # Video: the iframe alone. Rich (audio): the iframe and the host script that sizes it from its postMessage.
    tail = "</iframe>" if expected_type == "video" else '/static/episodes/embed-host.js" async></script>'
    assert fields["html"].startswith("<iframe ") and fields["html"].endswith(tail)
    assert f'width="{fields["width"]}" height="{fields["height"]}"' in fields["html"]


def get(client: Client, url: str, **params: Any) -> Any:
    return client.get("/oembed", {"url": url, **params})


def xml_fields(body: bytes) -> dict[str, str]:
    root = ET.fromstring(body)  # noqa: S314 - our own response
    assert root.tag == "oembed"
    return {child.tag: child.text or "" for child in root}


@pytest.mark.parametrize("path", ["/embed/video/{pk}/", "/videos/{pk}/{slug}/", "/videos/{pk}/"])
def test_video_urls_give_a_video_response_in_json_and_xml(client: Client, live_video: Video, path: str) -> None:
    url = BASE + path.format(pk=live_video.pk, slug=quote(live_video.slug))
    response = get(client, url)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json; charset=utf-8"
    data = response.json()
    validate(data, "video")
    assert (data["width"], data["height"]) == (640, 360)
    assert data["title"] == "Що таке санкції? <b>"
    assert data["provider_name"] and data["provider_url"] == f"{BASE}/"
    assert data["cache_age"] == 3600
    assert f'src="{BASE}/embed/video/{live_video.pk}/"' in data["html"]
    assert 'title="Що таке санкції? &lt;b&gt;"' in data["html"]  # escaped inside the snippet
    # The largest image within the (absent) limits: the poster.
    assert (data["thumbnail_url"], data["thumbnail_width"]) == (f"{BASE}/d/v/{live_video.pk}/poster.jpg", 1280)
    xml = get(client, url, format="xml")
    assert xml.status_code == 200 and xml.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert xml.content.startswith(b'<?xml version="1.0" encoding="utf-8" standalone="yes"?>')
    fields = xml_fields(xml.content)
    validate(fields, "video")
    assert fields["html"] == data["html"] and fields["title"] == data["title"]


def test_episode_is_a_rich_response(client: Client, live_episode: Episode) -> None:
    type(live_episode.show).objects.filter(pk=live_episode.show_id).update(artwork="")  # a show without art
    for url in (f"{BASE}/embed/episode/{live_episode.pk}/", f"{BASE}/episodes/{live_episode.pk}/x/"):
        data = get(client, url).json()
        validate(data, "rich")
        assert (data["width"], data["height"]) == (640, 240)  # the player and one line for each of 2 chapters
        assert not THUMBNAIL & set(data)  # no artwork: no thumbnail fields at all
        validate(xml_fields(get(client, url, format="xml").content), "rich")


def test_episode_maxwidth_narrows_but_keeps_every_chapter_line(client: Client, live_episode: Episode) -> None:
    url = f"{BASE}/embed/episode/{live_episode.pk}/"
    for max_width in (480, 300):
        data = get(client, url, maxwidth=max_width).json()
        assert (data["width"], data["height"]) == (max_width, 240)
        assert f"max-width:{max_width}px;height:240px" in data["html"]
    assert get(client, url, maxheight=200).json()["height"] == 200


def test_maxwidth_and_maxheight_scale_down_keeping_the_aspect_ratio(client: Client, live_video: Video) -> None:
    url = f"{BASE}/embed/video/{live_video.pk}/"
    data = get(client, url, maxwidth=320).json()
    assert (data["width"], data["height"]) == (320, 180)
    # The thumbnail respects the limits too (§2.2): the 320×180 thumbnail, not the 1280×720 poster.
    assert (data["thumbnail_width"], data["thumbnail_height"]) == (320, 180)
    data = get(client, url, maxwidth=1000, maxheight=90).json()
    assert (data["width"], data["height"]) == (160, 90)
    assert not THUMBNAIL & set(data)  # no image fits 160×90
    data = get(client, url, maxwidth=5000, maxheight=5000).json()
    assert (data["width"], data["height"]) == (640, 360)  # never scaled up


@pytest.mark.parametrize(
    ("size", "limits", "expected"),
    [((640, 360), (None, None), (640, 360)), ((640, 360), (300, None), (300, 168)),
     ((640, 180), (None, 90), (320, 90)), ((640, 360), (1, 1), (1, 1))],
)  # fmt: skip
def test_fit(size: tuple[int, int], limits: tuple[int | None, int | None], expected: tuple[int, int]) -> None:
    assert fit(*size, *limits) == expected


def test_unsupported_format_is_501(client: Client, live_video: Video) -> None:
    assert get(client, f"{BASE}/embed/video/{live_video.pk}/", format="yaml").status_code == 501


@pytest.mark.parametrize(
    "url",
    ["", "not a url", "ftp://127.0.0.1:8000/embed/video/1/", "/embed/video/1/", "javascript:alert(1)",
     "http://" + "x" * 3000, "http://[::1", "http://127.0.0.1:99999/embed/video/1/", "http://127.0.0.1:8000\n/x"],
)  # fmt: skip
def test_a_bad_url_is_400_json(client: Client, db: None, url: str) -> None:
    response = get(client, url)
    assert response.status_code == 400 and "error" in json.loads(response.content)


def test_bad_sizes_are_400(client: Client, live_video: Video) -> None:
    for params in ({"maxwidth": "-1"}, {"maxheight": "abc"}, {"maxwidth": "0"}):
        assert get(client, f"{BASE}/embed/video/{live_video.pk}/", **params).status_code == 400


@pytest.mark.parametrize(
    "url",
    ["https://elsewhere.example/embed/video/{pk}/", BASE + "/embed/video/999999/", BASE + "/feeds/x.xml",
     BASE + "/embed/episode/{pk}/", BASE + "/videos/99999999999999999999/x/"],
)  # fmt: skip
def test_urls_that_are_not_ours_or_unknown_are_404(client: Client, live_video: Video, url: str) -> None:
    assert get(client, url.format(pk=live_video.pk)).status_code == 404


def test_missing_url_parameter_is_400(client: Client, db: None) -> None:
    assert client.get("/oembed").status_code == 400


def test_oembed_is_reused_until_the_item_changes(client: Client, live_video: Video,
                                                 django_assert_max_num_queries: Any) -> None:  # fmt: skip
    from episodes.services.content import video_unpublish, video_update

    url = f"{BASE}/videos/{live_video.pk}/x/"
    first = get(client, url)
    assert first.status_code == 200 and first["ETag"] and first["Cache-Control"].startswith("public, max-age=")
    with django_assert_max_num_queries(1):
        assert get(client, url).content == first.content
    with django_assert_max_num_queries(1):
        revalidated = client.get("/oembed", {"url": url}, headers={"If-None-Match": first["ETag"]})
    assert revalidated.status_code == 304
    video_update(video=live_video, title="Renamed")
    assert json.loads(get(client, url).content)["title"] == "Renamed"
    video_unpublish(video=live_video)
    assert get(client, url).status_code == 404
