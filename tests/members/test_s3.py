"""Members and imports on the production storage: SeaweedFS S3."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.test import Client

from episodes.models import Episode, MediaSource
from imports.models import ImportItem
from imports.services import import_create, import_item_download, import_run
from members.services import member_grant, member_revoke, member_url
from tests.feeds.factories import live_episode
from tests.imports.conftest import FeedServer, Route
from tests.imports.test_import import feed, item

pytestmark = [pytest.mark.django_db, pytest.mark.s3]


def test_member_media_redirects_to_a_short_lived_presigned_url(client: Client, show: Any, s3_storage: Any) -> None:
    bonus = live_episode(show, 1)
    Episode.objects.filter(pk=bonus.pk).update(members_only=True)
    member = member_grant(external_id="m-s3")
    path = member_url(f"{settings.PUBLIC_BASE_URL}/d/e/{bonus.pk}/audio_mp3.mp3", member.token)
    path = path.removeprefix(settings.PUBLIC_BASE_URL)
    response = client.get(path)
    assert response.status_code == 302 and response["Cache-Control"] == "no-store"
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["X-Amz-Expires"] == [str(settings.MEMBERS_MEDIA_URL_SECONDS)]
    assert client.get(f"/d/e/{bonus.pk}/audio_mp3.mp3").status_code == 404  # not public
    member_revoke(external_id="m-s3")
    assert client.get(path).status_code == 404


def test_import_streams_the_enclosure_into_s3(feed_server: FeedServer, s3_storage: Any) -> None:
    audio = bytes(range(256)) * 100
    feed_server.routes["/ep.mp3"] = Route(body=audio, content_type="audio/mpeg")
    job = import_run(job_id=import_create(document=feed(item(1, feed_server.url("/ep.mp3")))).pk)
    assert job is not None
    row = import_item_download(item_id=ImportItem.objects.get(job=job).pk)
    assert row is not None and row.state == ImportItem.State.PROCESSING, row.error if row else None
    source = MediaSource.objects.get(episode=row.episode)
    with default_storage.open(source.storage_key, "rb") as fh:
        assert fh.read() == audio
