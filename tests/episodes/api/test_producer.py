"""Producer writes: content, publishing, chapters, transcripts, processing status, deletion with clean-up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from episodes.models import Episode, ProcessingJob, Transcript, Video

from .conftest import add_renditions

pytestmark = pytest.mark.django_db

VTT = "WEBVTT\n\n00:00.000 --> 00:02.000\nДобрий вечір, <i>ми</i> з України\n\n00:02.000 --> 00:04.000\nSecond line\n"
SRT = "1\n00:00:00,000 --> 00:00:02,000\nHello\n\n2\n00:00:02,000 --> 00:00:03,500\nworld\n"


def test_staff_creates_and_updates_a_show(api: Any, tokens: dict[str, str]) -> None:
    staff = api(tokens["staff"])
    created = staff.send("POST", "/shows", {"title": "Світ", "slug": "svit", "description": "World news."})
    assert created.status_code == 201 and created.json()["feed_url"].endswith("/feeds/svit.xml")
    dup = staff.send("POST", "/shows", {"title": "Again", "slug": "svit", "description": "x"})
    assert dup.status_code == 422 and "slug" in dup.json()["error"]["fields"]
    patched = api(tokens["a"]).send("PATCH", "/shows/ukraine-insights", {"author": "Desk A"})
    assert patched.status_code == 200 and patched.json()["author"] == "Desk A"
    unknown = api(tokens["a"]).send("PATCH", "/shows/ukraine-insights", {"autor": "typo"})
    assert unknown.status_code == 422 and "autor" in unknown.json()["error"]["fields"]
    assert staff.send("DELETE", "/shows/svit").status_code == 204
    assert staff.send("DELETE", "/shows/ukraine-insights").status_code in {204, 409}


def test_member_content_and_moving_a_show_are_set_through_the_api(api: Any, tokens: dict[str, str]) -> None:
    from episodes.models import Episode, Show

    a = api(tokens["a"])
    ep = a.send("POST", "/shows/ukraine-insights/episodes", {"title": "Бонус", "slug": "bonus",
                                                              "members_only": True}).json()  # fmt: skip
    assert Episode.objects.get(pk=ep["id"]).members_only is True
    early = a.send(
        "PATCH", f"/episodes/{ep['id']}", {"members_only": False, "members_from": "2026-03-01T08:00:00+02:00"}
    )
    assert early.status_code == 200, early.json()
    episode = Episode.objects.get(pk=ep["id"])
    assert episode.members_only is False and episode.members_from is not None and episode.members_from.hour == 6
    moved = a.send("PATCH", "/shows/ukraine-insights", {"new_feed_url": "https://elsewhere.example.com/feed.xml",
                                                        "feed_moved": True})  # fmt: skip
    assert moved.status_code == 200, moved.json()
    show = Show.objects.get(slug="ukraine-insights")
    assert show.feed_moved and show.new_feed_url == "https://elsewhere.example.com/feed.xml"


def test_show_with_media_cannot_be_deleted(api: Any, tokens: dict[str, str], media: dict[str, Any]) -> None:
    response = api(tokens["staff"]).send("DELETE", "/shows/ukraine-insights")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_empty"


def test_create_and_update_episode_and_video(api: Any, tokens: dict[str, str]) -> None:
    a = api(tokens["a"])
    ep = a.send("POST", "/shows/ukraine-insights/episodes", {"title": "Тиждень 6", "slug": "тиждень-6",
                                                              "summary": "Week six.", "season": 1}).json()  # fmt: skip
    assert (ep["type"], ep["status"], ep["publish_at"]) == ("episode", "draft", None)
    assert a.send("PATCH", f"/episodes/{ep['id']}", {"title": "Week 6"}).json()["title"] == "Week 6"
    bad = a.send("PATCH", f"/episodes/{ep['id']}", {"slug": "no spaces allowed"})
    assert bad.status_code == 422 and "slug" in bad.json()["error"]["fields"]
    vid = a.send("POST", "/shows/ukraine-insights/videos", {"title": "Explainer", "slug": "explainer"}).json()
    assert a.send("PATCH", f"/videos/{vid['id']}", {"description": "<p onclick=x>Hi</p>"}).json()[
        "description"] == "<p>Hi</p>"  # fmt: skip
    assert api(None).get(f"/videos/{vid['id']}").status_code == 404


def test_publish_now_schedule_and_unpublish(api: Any, tokens: dict[str, str], show: Any) -> None:
    from episodes.services.content import video_create

    a = api(tokens["a"])
    video = video_create(show=show, title="V", slug="v")
    not_ready = a.send("POST", f"/videos/{video.pk}/publish", {})
    assert not_ready.status_code == 409 and not_ready.json()["error"]["code"] == "not_ready"
    add_renditions(video, video=True)
    when = (timezone.now() + timedelta(days=2)).isoformat()
    scheduled = a.send("POST", f"/videos/{video.pk}/publish", {"publish_at": when}).json()
    assert scheduled["status"] == "published"
    assert api(None).get(f"/videos/{video.pk}").status_code == 404  # scheduled: not live yet
    assert a.send("POST", f"/videos/{video.pk}/publish", {}).status_code == 200
    assert api(None).get(f"/videos/{video.pk}").status_code == 200
    assert a.send("POST", f"/videos/{video.pk}/unpublish").json()["status"] == "ready"
    assert api(None).get(f"/videos/{video.pk}").status_code == 404
    naive = a.send("POST", f"/videos/{video.pk}/publish", {"publish_at": "2030-01-01T10:00:00"})
    assert naive.status_code == 422


def test_chapters(api: Any, tokens: dict[str, str], episode: Any) -> None:
    a = api(tokens["a"])
    chapters = [{"start": 0, "title": "Intro"}, {"start": 61.5, "title": "News", "url": "https://example.com"}]
    body = a.send("PUT", f"/episodes/{episode.pk}/chapters", {"chapters": chapters}).json()
    assert body["chapters"] == [{"start": 0.0, "title": "Intro"},
                                {"start": 61.5, "title": "News", "url": "https://example.com"}]  # fmt: skip
    out_of_order = a.send("PUT", f"/episodes/{episode.pk}/chapters",
                          {"chapters": [{"start": 5, "title": "B"}, {"start": 1, "title": "A"}]})  # fmt: skip
    assert out_of_order.status_code == 422 and "chapters" in out_of_order.json()["error"]["fields"]


@pytest.mark.parametrize(("fmt", "content", "text"), [("vtt", VTT, "Добрий вечір, ми з України Second line"),
                                                       ("srt", SRT, "Hello world")])  # fmt: skip
def test_transcript_attach_stores_and_indexes(api: Any, tokens: dict[str, str], episode: Any, media_storage: Path,
                                              fmt: str, content: str, text: str) -> None:  # fmt: skip
    a = api(tokens["a"])
    response = a.send("POST", f"/episodes/{episode.pk}/transcripts", {"language": "uk", "format": fmt,
                                                                         "content": content})  # fmt: skip
    assert response.status_code == 201
    assert response.json()["transcripts"][0]["url"].endswith(f"/d/e/{episode.pk}/transcript-uk.{fmt}")
    row = Transcript.objects.get(episode=episode)
    assert row.text == text and row.storage_key == f"transcripts/episodes/{episode.pk}/uk.{fmt}"
    assert (media_storage / row.storage_key).read_text() == content
    # Sending it again replaces the file at the same key.
    a.send("POST", f"/episodes/{episode.pk}/transcripts", {"language": "uk", "format": fmt, "content": content})
    assert Transcript.objects.filter(episode=episode).count() == 1
    assert sorted(p.name for p in (media_storage / f"transcripts/episodes/{episode.pk}").iterdir()) == [f"uk.{fmt}"]
    assert a.send("DELETE", f"/episodes/{episode.pk}/transcripts/uk/{fmt}").status_code == 204
    assert not Transcript.objects.filter(episode=episode).exists()


@pytest.mark.parametrize(
    ("fmt", "content", "language"),
    [
        ("vtt", "hello", "uk"),
        ("vtt", "WEBVTT\n\n00:00.000 -> 00:01.000\nx\n", "uk"),
        ("vtt", "WEBVTT\n\n00:05.000 --> 00:01.000\nbackwards\n", "uk"),
        ("srt", "00:00:00,000 --> 00:00:01,000\nno number\n", "uk"),
        ("vtt", VTT, "not a language!"),
    ],
)
def test_invalid_transcripts_are_422(api: Any, tokens: dict[str, str], episode: Any, fmt: str, content: str,
                                     language: str) -> None:  # fmt: skip
    response = api(tokens["a"]).send("POST", f"/episodes/{episode.pk}/transcripts",
                                     {"language": language, "format": fmt, "content": content})  # fmt: skip
    assert response.status_code == 422
    assert response.json()["error"]["fields"]
    assert not Transcript.objects.exists()


def test_huge_transcript_is_413(api: Any, tokens: dict[str, str], episode: Any) -> None:
    content = "WEBVTT\n\n" + "00:00.000 --> 00:01.000\n" + "x" * (3 * 1024 * 1024) + "\n"
    response = api(tokens["a"]).send("POST", f"/episodes/{episode.pk}/transcripts",
                                     {"language": "en", "format": "vtt", "content": content})  # fmt: skip
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_reprocess_and_processing_status(api: Any, tokens: dict[str, str], ready_episode: Any) -> None:
    a = api(tokens["a"])
    assert a.get(f"/episodes/{ready_episode.pk}/processing").json() == {
        "status": "ready",
        "job": None,
        "publish_when_ready": False,
        "publish_problem": "",
    }
    queued = a.send("POST", f"/episodes/{ready_episode.pk}/reprocess")
    assert queued.status_code == 202
    job = queued.json()["job"]
    assert (job["state"], job["stage"], job["progress"]) == ("queued", "waiting", 0)
    ProcessingJob.objects.filter(pk=job["id"]).update(state="running", stage="encoding", progress=42,
                                                      lease_expires_at=timezone.now())  # fmt: skip
    status = a.get(f"/episodes/{ready_episode.pk}/processing").json()
    assert (status["job"]["stage"], status["job"]["stage_label"], status["job"]["progress"]) == (
        "encoding", "Encoding", 42)  # fmt: skip
    assert a.send("POST", f"/episodes/{ready_episode.pk}/reprocess").json()["job"]["id"] == job["id"]
    empty = a.send("POST", "/shows/ukraine-insights/videos", {"title": "V", "slug": "v"}).json()
    assert a.send("POST", f"/videos/{empty['id']}/reprocess").status_code == 422


def test_delete_removes_rows_and_files(api: Any, tokens: dict[str, str], show: Any, media_storage: Path,
                                       django_capture_on_commit_callbacks: Any) -> None:  # fmt: skip
    from episodes.services.content import video_create

    video = add_renditions(video_create(show=show, title="Gone", slug="gone"), video=True)
    for row in [*video.renditions.all(), *video.sources.all(), *video.transcripts.all()]:
        path = media_storage / row.storage_key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (media_storage / f"renditions/videos/{video.pk}/run1/hls/v0").mkdir(parents=True)
    (media_storage / f"renditions/videos/{video.pk}/run1/hls/v0/seg_000.m4s").write_bytes(b"x")
    assert default_storage.exists(f"sources/videos/{video.pk}/a/in.mp4")
    with django_capture_on_commit_callbacks(execute=True):
        assert api(tokens["a"]).send("DELETE", f"/videos/{video.pk}").status_code == 204
    assert not Video.objects.filter(pk=video.pk).exists()
    leftovers = [p for p in media_storage.rglob("*") if p.is_file() and "artwork" not in p.parts]
    assert leftovers == []  # the show's cover art stays: the show was not deleted


def test_published_items_must_be_unpublished_before_delete(api: Any, tokens: dict[str, str],
                                                           media: dict[str, Any]) -> None:  # fmt: skip
    response = api(tokens["a"]).send("DELETE", f"/episodes/{media['live_ep'].pk}")
    assert response.status_code == 409 and response.json()["error"]["code"] == "published"
    assert Episode.objects.filter(pk=media["live_ep"].pk).exists()
