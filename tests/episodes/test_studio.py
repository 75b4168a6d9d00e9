"""The producer studio: producers see only their shows, the checklist blocks broken feeds, publishing from the
edit page (now, scheduled in the show's zone, when ready), live status, transcripts, chapters vs duration."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.files import File
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from episodes.models import Episode, MediaSource, ProcessingJob, Rendition, Show, Status
from episodes.services import content, publishing
from episodes.services.errors import InvalidInput
from episodes.services.readiness import NotReady, blocking, live_checks
from episodes.services.tokens import api_token_create
from episodes.services.uploads import media_source_create
from tests.conftest import attach_fake_audio, cover_art

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_show(db: None) -> Show:
    return content.show_create(
        title="Kyiv Explained", slug="kyiv-explained", description="Explainers.", categories=[["News"]],
        artwork=cover_art("kyiv.png"),
    )  # fmt: skip


@pytest.fixture
def people(show: Show, other_show: Show) -> dict[str, User]:
    a = User.objects.create_user("producer_a", password="pw-a-123456")
    b = User.objects.create_user("producer_b", password="pw-b-123456")
    staff = User.objects.create_superuser("editor", "e@example.com", "pw-staff-123456")
    show.members.add(a)
    other_show.members.add(b)
    return {"a": a, "b": b, "staff": staff}


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_a_producer_sees_only_their_own_shows_and_items(
    client: Client, people: dict[str, User], episode: Episode, other_show: Show
) -> None:
    theirs = content.episode_create(show=other_show, title="Secret draft of B", slug="secret")
    MediaSource.objects.create(episode=theirs, storage_key="s/b.wav", original_filename="b-upload.wav", byte_size=1)
    login(client, people["a"])
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200  # a producer who is not staff gets into the admin
    assert "API tokens" not in index.content.decode() and "Articles" not in index.content.decode()
    listing = client.get(reverse("admin:episodes_episode_changelist")).content.decode()
    assert episode.title in listing and "Secret draft of B" not in listing
    shows = client.get(reverse("admin:episodes_show_changelist")).content.decode()
    assert "Ukraine Insights" in shows and "Kyiv Explained" not in shows
    sources = client.get(reverse("admin:episodes_mediasource_changelist")).content.decode()
    assert "b-upload.wav" not in sources
    # Another show's rows are not found, exactly like ids that never existed.
    page = client.get(reverse("admin:episodes_episode_change", args=[theirs.pk]))
    assert page.status_code == 302 and "Secret draft of B" not in page.content.decode()
    assert client.get(reverse("admin:episodes_episode_studio_status", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:episodes_show_change", args=[other_show.pk])).status_code == 302
    post = client.post(reverse("admin:episodes_episode_studio_publish", args=[theirs.pk]), {"action": "unpublish"})
    assert post.status_code == 404
    # A producer cannot pick another show for a new episode.
    add = client.get(reverse("admin:episodes_episode_add")).content.decode()
    assert "Kyiv Explained" not in add and "Ukraine Insights" in add
    # Staff see everything.
    login(client, people["staff"])
    listing = client.get(reverse("admin:episodes_episode_changelist")).content.decode()
    assert episode.title in listing and "Secret draft of B" in listing


def test_a_user_who_is_no_member_cannot_log_in(client: Client, db: None) -> None:
    User.objects.create_user("nobody", password="pw-nobody-123456")
    response = client.post(reverse("admin:login"), {"username": "nobody", "password": "pw-nobody-123456"})
    assert "not a member of any show" in response.content.decode()


def test_a_show_without_category_or_artwork_cannot_go_live_and_says_which_fields(
    client: Client, people: dict[str, User], show: Show, ready_episode: Episode
) -> None:
    Show.objects.filter(pk=show.pk).update(categories=[], artwork="")
    ready_episode.refresh_from_db()
    failing = {c.key for c in blocking(live_checks(ready_episode))}
    assert failing == {"show.categories", "show.artwork"}
    with pytest.raises(NotReady) as info:
        content.episode_publish(episode=ready_episode)
    assert set(info.value.fields) == {"show.categories", "show.artwork"}
    assert "FeedShow" not in info.value.message
    # API: 422 naming the fields.
    _, raw = api_token_create(user=people["a"], name="t")
    response = client.post(f"/api/v1/episodes/{ready_episode.pk}/publish", {}, content_type="application/json",
                           headers={"Authorization": f"Bearer {raw}"})  # fmt: skip
    assert response.status_code == 422
    body = response.json()
    assert {"show.categories", "show.artwork"} <= set(body["error"]["fields"]), body
    # Admin: the changelist action says why instead of "1 published."; the edit page links to each fix.
    login(client, people["a"])
    changelist = reverse("admin:episodes_episode_changelist")
    done = client.post(changelist, {"action": "publish_now", "_selected_action": [ready_episode.pk]}, follow=True)
    text = done.content.decode()
    assert "1 published" not in text and "Apple Podcasts category" in text and "cover art" in text
    page = client.get(reverse("admin:episodes_episode_change", args=[ready_episode.pk])).content.decode()
    assert reverse("admin:episodes_show_change", args=[show.pk]) + "#id_category_picks" in page
    assert Episode.objects.get(pk=ready_episode.pk).status == Status.READY
    # Once fixed, it publishes.
    content.show_update(show=show, categories=[["News", "Politics"]], artwork=cover_art())
    ready_episode.refresh_from_db()
    assert content.episode_publish(episode=ready_episode).status == Status.PUBLISHED


def test_the_edit_page_schedules_in_the_shows_time_zone_and_unpublishes(
    client: Client, people: dict[str, User], show: Show, ready_episode: Episode
) -> None:
    content.show_update(show=show, time_zone="Europe/Kyiv")
    login(client, people["a"])
    url = reverse("admin:episodes_episode_studio_publish", args=[ready_episode.pk])
    client.post(url, {"action": "schedule", "day": "2031-03-01", "at": "09:30"})
    ready_episode.refresh_from_db()
    assert ready_episode.status == Status.PUBLISHED
    assert ready_episode.publish_at == datetime(2031, 3, 1, 9, 30, tzinfo=ZoneInfo("Europe/Kyiv"))
    client.post(url, {"action": "unpublish"})
    ready_episode.refresh_from_db()
    assert ready_episode.status == Status.READY
    client.post(url, {"action": "now"})
    assert Episode.objects.get(pk=ready_episode.pk).status == Status.PUBLISHED


def test_publish_when_ready_waits_for_processing_then_publishes(show: Show, episode: Episode) -> None:
    Episode.objects.filter(pk=episode.pk).update(status=Status.PROCESSING)
    item = publishing.item_publish_when_ready(item=episode)
    assert item.status == Status.PROCESSING and item.publish_when_ready
    attach_fake_audio(episode)  # processing succeeded
    assert publishing.publish_if_requested(item=episode)
    episode.refresh_from_db()
    assert episode.status == Status.PUBLISHED and not episode.publish_when_ready and not episode.publish_problem


def test_publish_when_ready_stays_a_draft_with_the_reason_when_processing_fails(show: Show, episode: Episode) -> None:
    Episode.objects.filter(pk=episode.pk).update(status=Status.PROCESSING)
    publishing.item_publish_when_ready(item=episode)
    publishing.publish_request_failed(item=episode, reason="This file is not audio or video we can read.")
    episode.refresh_from_db()
    assert episode.status != Status.PUBLISHED and not episode.publish_when_ready
    assert "processing failed" in episode.publish_problem and "not audio or video" in episode.publish_problem


def test_publish_when_ready_records_why_the_checklist_stopped_it(show: Show, episode: Episode) -> None:
    Episode.objects.filter(pk=episode.pk).update(status=Status.PROCESSING)
    publishing.item_publish_when_ready(item=episode)
    Show.objects.filter(pk=show.pk).update(categories=[])
    attach_fake_audio(episode)
    assert not publishing.publish_if_requested(item=episode)
    episode.refresh_from_db()
    assert episode.status == Status.READY and "Apple Podcasts category" in episode.publish_problem


def test_chapters_must_start_inside_the_media(client: Client, people: dict[str, User], ready_episode: Episode) -> None:
    Rendition.objects.filter(episode=ready_episode).update(duration=24.0)
    with pytest.raises(InvalidInput, match="media lasts 24.0 s"):
        content.episode_update(
            episode=ready_episode, chapters=[{"start": 0, "title": "A"}, {"start": 500, "title": "B"}]
        )
    with pytest.raises(InvalidInput, match="at least 1 s before the end"):
        content.episode_update(episode=ready_episode, chapters=[{"start": 24, "title": "At the very end"}])
    content.episode_update(episode=ready_episode, chapters=[{"start": 0, "title": "A"}, {"start": 20, "title": "B"}])
    _, raw = api_token_create(user=people["a"], name="t")
    response = client.put(f"/api/v1/episodes/{ready_episode.pk}/chapters",
                          {"chapters": [{"start": 500, "title": "Late"}]}, content_type="application/json",
                          headers={"Authorization": f"Bearer {raw}"})  # fmt: skip
    assert response.status_code == 422 and "chapters" in response.json()["error"]["fields"]


def _episode_form(episode: Episode, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "show": episode.show_id, "title": episode.title, "slug": episode.slug, "summary": "s", "show_notes": "",
        "episode_type": "full", "guid": episode.guid,
        "credits-TOTAL_FORMS": "0", "credits-INITIAL_FORMS": "0",
        "transcripts-TOTAL_FORMS": "0", "transcripts-INITIAL_FORMS": "0",
        "renditions-TOTAL_FORMS": "0", "renditions-INITIAL_FORMS": "0",
        "chapters-count": "0", "soundbites-count": "0",
    }  # fmt: skip
    data.update(extra)
    return data


def test_chapters_are_edited_as_rows_not_json(client: Client, people: dict[str, User], ready_episode: Episode) -> None:
    Rendition.objects.filter(episode=ready_episode).update(duration=90.0)
    login(client, people["a"])
    url = reverse("admin:episodes_episode_change", args=[ready_episode.pk])
    page = client.get(url).content.decode()
    assert 'name="chapters-0-start"' in page and "textarea" not in page.split('data-rows-name="chapters"')[1][:2000]
    form = _episode_form(ready_episode, **{
        "chapters-count": "3", "chapters-0-start": "1:05", "chapters-0-title": "Second",
        "chapters-1-start": "0", "chapters-1-title": "Intro", "chapters-1-url": "https://example.com/a",
        "chapters-2-start": "", "chapters-2-title": "",
        "soundbites-count": "1", "soundbites-0-start": "0:10", "soundbites-0-duration": "15", "soundbites-0-title": "Q",
    })  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    ready_episode.refresh_from_db()
    assert ready_episode.chapters == [
        {"start": 0, "title": "Intro", "url": "https://example.com/a"},
        {"start": 65, "title": "Second"},
    ]
    assert ready_episode.soundbites == [{"start": 10, "duration": 15, "title": "Q"}]
    late = client.post(url, _episode_form(ready_episode, **{"chapters-count": "1", "chapters-0-start": "8:20",
                                                              "chapters-0-title": "Too late"}))  # fmt: skip
    assert late.status_code == 200 and "media lasts 90.0 s" in late.content.decode()


def test_transcripts_are_attached_per_language_in_the_admin(
    client: Client, people: dict[str, User], ready_episode: Episode
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    login(client, people["a"])
    url = reverse("admin:episodes_episode_studio_transcript", args=[ready_episode.pk])
    vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nПривіт, світ.\n".encode()
    client.post(url, {"language": "uk", "file": SimpleUploadedFile("uk.vtt", vtt, "text/vtt")})
    srt = b"1\n00:00:00,000 --> 00:00:02,000\nHello.\n"
    client.post(url, {"language": "en", "file": SimpleUploadedFile("en.srt", srt, "application/x-subrip")})
    assert set(ready_episode.transcripts.values_list("language", "format")) == {("uk", "vtt"), ("en", "srt")}
    bad = client.post(url, {"language": "de", "file": SimpleUploadedFile("x.vtt", b"not a vtt")}, follow=True)
    assert "not accepted" in bad.content.decode()


def test_status_json_reports_stage_and_progress(client: Client, people: dict[str, User], episode: Episode) -> None:
    source = MediaSource.objects.create(episode=episode, storage_key="s/x.wav", original_filename="x.wav", byte_size=1)
    ProcessingJob.objects.create(source=source, state="failed", stage="probing", progress=7, error="Not audio.")
    login(client, people["a"])
    data = client.get(reverse("admin:episodes_episode_studio_status", args=[episode.pk])).json()
    assert data["job"]["stage_label"] == "Inspecting the file" and data["job"]["error"] == "Not audio."
    page = client.get(reverse("admin:episodes_episode_change", args=[episode.pk])).content.decode()
    assert "Processing failed" in page and "Not audio." in page and 'value="reprocess"' in page


def test_the_edit_page_of_a_show_with_2000_episodes_takes_constant_queries(
    client: Client, people: dict[str, User], show: Show, ready_episode: Episode
) -> None:
    login(client, people["a"])
    url = reverse("admin:episodes_episode_change", args=[ready_episode.pk])
    client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    Episode.objects.bulk_create(
        [Episode(show=show, title=f"Episode {n}", slug=f"e-{n}", guid=f"urn:x:{n}") for n in range(2000)]
    )
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few) <= 40, [q["sql"][:120] for q in many.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_reports_stage_changes_within_seconds_even_with_a_long_lease(
    episode: Episode, settings: Any
) -> None:
    from episodes.services.leases import Heartbeat, job_claim

    settings.MEDIA_JOB_LEASE_SECONDS = 120  # the first write used to wait 30 s
    source = MediaSource.objects.create(episode=episode, storage_key="s/x.wav", original_filename="x.wav", byte_size=1)
    job = ProcessingJob.objects.create(source=source)
    claim = job_claim(job_id=job.pk, worker_id="w1")
    assert claim is not None
    with Heartbeat(claim) as beat:
        beat.stage, beat.progress = "encoding", 42
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.stage == "encoding":
                break
            time.sleep(0.2)
    assert (job.stage, job.progress) == ("encoding", 42)
    assert time.monotonic() < deadline


@pytest.mark.django_db(transaction=True)
def test_publish_when_ready_with_real_processing(show: Show, episode: Episode, speech_wav: Path) -> None:
    from media_hub.celery import app

    app.conf.task_always_eager = True
    try:
        publishing.item_publish_when_ready(item=episode)
        assert Episode.objects.get(pk=episode.pk).publish_when_ready
        with speech_wav.open("rb") as fh:
            media_source_create(owner=episode, file=File(fh, name="take.wav"), filename="take.wav")
    finally:
        app.conf.task_always_eager = False
    episode.refresh_from_db()
    assert episode.status == Status.PUBLISHED, episode.publish_problem
    assert not episode.publish_when_ready


def test_stats_pages_draw_90_days_compare_first_7_and_30_days_and_export_csv(
    client: Client, people: dict[str, User], show: Show, ready_episode: Episode
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from episodes.models import EmbedView
    from feeds.models import DailyDownloads

    today = timezone.now().date()
    live = today - timedelta(days=20)
    Episode.objects.filter(pk=ready_episode.pk).update(
        status=Status.PUBLISHED, publish_at=timezone.now() - timedelta(days=20),
        first_published_at=timezone.now() - timedelta(days=20),
    )  # fmt: skip
    target = f"e:{ready_episode.pk}"
    for age, app, platform, n in [(0, "Apple Podcasts", "iOS", 5), (3, "Overcast", "iOS", 2),
                                  (10, "Apple Podcasts", "macOS", 4), (19, "Spotify", "Android", 1)]:  # fmt: skip
        DailyDownloads.objects.create(day=live + timedelta(days=age), target=target, show=show, episode=ready_episode,
                                      app=app, platform=platform, downloads=n)  # fmt: skip
    EmbedView.objects.create(day=today, viewer="v1", target=target, show=show, episode=ready_episode)
    login(client, people["a"])
    page = client.get(reverse("admin:episodes_show_studio_stats", args=[show.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and "Downloads per day: 12 in 90 days" in body and "<rect" in body
    assert "Apple Podcasts" in body and "Embed views: 1" in body
    daily = client.get(reverse("admin:episodes_show_studio_stats", args=[show.pk]), {"csv": "daily"})
    assert daily["Content-Type"].startswith("text/csv")
    lines = daily.content.decode().splitlines()
    assert lines[0] == "day,downloads,embed_views" and len(lines) == 91
    assert f"{live.isoformat()},5,0" in lines and f"{today.isoformat()},0,1" in lines
    episodes_csv = client.get(reverse("admin:episodes_show_studio_stats", args=[show.pk]), {"csv": "episodes"})
    row = episodes_csv.content.decode().splitlines()[1].split(",")
    assert row[-2:] == ["7", "12"]  # first 7 days: 5 + 2; first 30 days: all 12
    apps = client.get(reverse("admin:episodes_episode_studio_stats", args=[ready_episode.pk]), {"csv": "apps"})
    assert apps.content.decode().splitlines()[1] == "Apple Podcasts,9"
    platforms = client.get(
        reverse("admin:episodes_episode_studio_stats", args=[ready_episode.pk]), {"csv": "platforms"}
    )
    assert platforms.content.decode().splitlines()[1:] == ["iOS,7", "macOS,4", "Android,1"]
    assert (
        "<h2>Platforms</h2>" in client.get(reverse("admin:episodes_show_studio_stats", args=[show.pk])).content.decode()
    )
    # Another show's producer: not found.
    login(client, people["b"])
    assert client.get(reverse("admin:episodes_show_studio_stats", args=[show.pk])).status_code == 404
    assert client.get(reverse("admin:episodes_episode_studio_stats", args=[ready_episode.pk])).status_code == 404


def test_the_show_page_has_its_checklist_and_the_add_page_asks_for_the_file_after_saving(
    client: Client, people: dict[str, User], show: Show
) -> None:
    Show.objects.filter(pk=show.pk).update(categories=[])
    login(client, people["a"])
    page = client.get(reverse("admin:episodes_show_change", args=[show.pk])).content.decode()
    assert "Choose at least one Apple Podcasts category." in page and 'href="#id_category_picks"' in page
    add = client.get(reverse("admin:episodes_episode_add")).content.decode()
    assert 'name="upload"' not in add and "upload the media file on the next page" in add


def test_the_api_publishes_when_ready_and_reports_it(client: Client, people: dict[str, User], episode: Episode) -> None:
    _, raw = api_token_create(user=people["a"], name="t")
    auth = {"Authorization": f"Bearer {raw}"}
    Episode.objects.filter(pk=episode.pk).update(status=Status.PROCESSING)
    url = f"/api/v1/episodes/{episode.pk}"
    both = client.post(f"{url}/publish", {"when_ready": True, "publish_at": "2031-01-01T00:00:00Z"},
                       content_type="application/json", headers=auth)  # fmt: skip
    assert both.status_code == 422
    queued = client.post(f"{url}/publish", {"when_ready": True}, content_type="application/json", headers=auth)
    assert queued.status_code == 200 and queued.json()["status"] == "processing"
    assert client.get(f"{url}/processing", headers=auth).json()["publish_when_ready"] is True
    publishing.publish_request_failed(item=episode, reason="The file is damaged.")
    state = client.get(f"{url}/processing", headers=auth).json()
    assert state["publish_when_ready"] is False and "damaged" in state["publish_problem"]
