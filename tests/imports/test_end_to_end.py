"""An imported item all the way: downloaded, processed by the real pipeline, published at its original pubDate."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from episodes.models import Episode, EpisodePerson, ProcessingJob, Status, Transcript
from episodes.services.processing import job_run
from episodes.services.tokens import api_token_create
from feeds.rendering import feed_cache
from imports.models import ImportItem, ImportJob
from imports.services import import_create, import_item_download, import_run, imports_sweep
from tests.imports.conftest import FeedServer, Route
from tests.imports.test_import import feed, item

# Committed rows: the processing job's heartbeat thread has its own database connection (as in a worker).
pytestmark = pytest.mark.django_db(transaction=True)


def test_imported_item_is_processed_and_published_at_its_original_date(
    feed_server: FeedServer, speech_wav: Path
) -> None:
    feed_server.routes["/ep1.wav"] = Route(body=speech_wav.read_bytes(), content_type="audio/wav")
    feed_server.routes["/ch.json"] = Route(body=json.dumps({"version": "1.2.0", "chapters": [
        {"startTime": 0, "title": "Вступ"}, {"startTime": 2.5, "title": "Кінець"}]}).encode(),
        content_type="application/json+chapters")  # fmt: skip
    feed_server.routes["/1.vtt"] = Route(body="WEBVTT\n\n00:00.000 --> 00:02.000\nПривіт\n".encode(),
                                         content_type="text/vtt")  # fmt: skip
    entry = item(1, feed_server.url("/ep1.wav"), notes="<description>Нотатки</description>")
    entry = entry.replace("https://old-host.example/1.vtt", feed_server.url("/1.vtt"))
    entry = entry.replace("<psc:chapters", f'<podcast:chapters url="{feed_server.url("/ch.json")}" '
                          'type="application/json+chapters"/><psc:chapters')  # fmt: skip
    # Cover art Apple accepts, so the show may go live (episodes.services.readiness).
    cover = io.BytesIO()
    Image.new("RGB", (1400, 1400), (30, 90, 160)).save(cover, "JPEG")
    feed_server.routes["/cover.jpg?v=3"] = Route(body=cover.getvalue(), content_type="image/jpeg")
    document = feed(entry).replace(b"<psc:chapters", b"<psc:x").replace(b"</psc:chapters>", b"</psc:x>")
    document = document.replace(b"https://old-host.example/cover.jpg?v=3", feed_server.url("/cover.jpg?v=3").encode())
    job = import_run(job_id=import_create(document=document).pk)
    assert job is not None and job.state == ImportJob.State.DONE
    row = import_item_download(item_id=ImportItem.objects.get(job=job).pk)
    assert row is not None and row.state == ImportItem.State.PROCESSING, row.error if row else None
    assert row.episode is not None
    episode = Episode.objects.get(pk=row.episode.pk)
    assert episode.chapters == [{"start": 0.0, "title": "Вступ"}, {"start": 2.5, "title": "Кінець"}]
    assert Transcript.objects.filter(episode=episode, language="uk", format="vtt").exists()
    assert EpisodePerson.objects.filter(episode=episode, person__name="Гість 1", role="guest").exists()
    processing = ProcessingJob.objects.get(source__episode=episode)
    job_run(job_id=processing.pk)
    episode.refresh_from_db()
    assert episode.status == Status.READY
    assert imports_sweep()["published"] == 1, ImportItem.objects.get(pk=row.pk).error
    episode.refresh_from_db()
    assert episode.status == Status.PUBLISHED
    assert episode.publish_at == datetime(2024, 1, 1, 4, 0, tzinfo=UTC)  # the original pubDate, not now
    assert ImportItem.objects.get(pk=row.pk).state == ImportItem.State.DONE
    feed_cache().clear()
    parsed = feedparser.parse(Client().get(f"/feeds/{episode.show.slug}.xml").content)
    assert [e.id for e in parsed.entries] == ["golos-1"]
    assert parsed.entries[0].published_parsed[:6] == (2024, 1, 1, 4, 0, 0)


def staff_auth() -> dict[str, str]:
    user = get_user_model().objects.create_user(username="staff", password="x", is_staff=True)
    _, raw = api_token_create(user=user, name="t")
    return {"Authorization": f"Bearer {raw}"}


def test_api_import_from_url_and_upload(client: Client, feed_server: FeedServer) -> None:
    auth = staff_auth()
    feed_server.routes["/feed.xml"] = Route(body=feed(item(1, feed_server.url("/a.mp3"))))
    created = client.post("/api/v1/imports/", {"url": feed_server.url("/feed.xml")}, content_type="application/json",
                          headers=auth)  # fmt: skip
    assert created.status_code == 201, created.content
    job_id = created.json()["id"]
    import_run(job_id=job_id)
    detail = client.get(f"/api/v1/imports/{job_id}", headers=auth).json()
    assert detail["state"] == "done" and detail["items"][0]["guid"] == "golos-1"
    assert detail["items"][0]["state"] == "pending"
    upload = SimpleUploadedFile("feed.xml", feed(item(2, "https://x.example/a.mp3")), content_type="text/xml")
    uploaded = client.post("/api/v1/imports/upload", {"file": upload}, headers=auth)
    assert uploaded.status_code == 201
    bad = client.post("/api/v1/imports/", {"url": "gopher://x"}, content_type="application/json", headers=auth)
    assert bad.status_code in {400, 422} and "error" in bad.json()
    assert client.post("/api/v1/imports/", {"url": "http://x"}, content_type="application/json").status_code == 401
    assert client.get("/api/v1/imports/999", headers=auth).status_code == 404


def test_admin_starts_an_import_and_shows_items(admin_client: Client, feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = Route(body=feed(item(1, feed_server.url("/a.mp3"))))
    page = admin_client.get("/admin/imports/importjob/add/")
    assert page.status_code == 200
    response = admin_client.post("/admin/imports/importjob/add/", {"source_url": feed_server.url("/feed.xml")})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    import_run(job_id=job.pk)
    detail = admin_client.get(f"/admin/imports/importjob/{job.pk}/change/")
    assert detail.status_code == 200 and "golos-1" in detail.content.decode()
    assert admin_client.post("/admin/imports/importjob/add/", {}).status_code == 200  # the form says what is missing
    assert ImportJob.objects.count() == 1
