"""The database itself refuses inconsistent rows, whatever code path writes them."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from PIL import Image

from episodes.models import (
    Episode,
    MediaSource,
    ProcessingJob,
    Rendition,
    Show,
    podcast_guid_for,
)
from episodes.validators import validate_artwork

pytestmark = pytest.mark.django_db


def test_podcast_guid_matches_the_podcast_namespace_example() -> None:
    # The example in the Podcasting 2.0 spec for <podcast:guid>.
    assert str(podcast_guid_for("https://mp3s.nashownotes.com/pc20rss.xml")) == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    assert podcast_guid_for("http://mp3s.nashownotes.com/pc20rss.xml/") == podcast_guid_for(
        "mp3s.nashownotes.com/pc20rss.xml"
    )


def test_duplicate_episode_guid_is_refused_by_the_database(episode: Episode) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Episode.objects.create(show=episode.show, title="Other", slug="other", guid=episode.guid)


def test_published_episode_without_publish_time_is_refused_by_the_database(episode: Episode) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Episode.objects.filter(pk=episode.pk).update(status="published", publish_at=None)


def test_slug_is_unique_within_a_show_only(show: Show, episode: Episode) -> None:
    other = Show.objects.create(title="Other", slug="other", description="x", podcast_guid=uuid.uuid4())
    Episode.objects.create(show=other, title="Same slug elsewhere", slug=episode.slug)
    with pytest.raises(IntegrityError), transaction.atomic():
        Episode.objects.create(show=show, title="Same slug", slug=episode.slug)


def test_a_media_file_has_exactly_one_owner(episode: Episode) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        MediaSource.objects.create(storage_key="k", original_filename="a.wav", byte_size=1)


def test_job_progress_cannot_exceed_100(episode: Episode) -> None:
    source = MediaSource.objects.create(episode=episode, storage_key="k", original_filename="a.wav", byte_size=1)
    job = ProcessingJob.objects.create(source=source)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProcessingJob.objects.filter(pk=job.pk).update(progress=101)


def test_one_rendition_per_kind_and_variant(episode: Episode) -> None:
    source = MediaSource.objects.create(episode=episode, storage_key="k", original_filename="a.wav", byte_size=1)
    fields: dict[str, Any] = {"episode": episode, "source": source, "kind": "audio_mp3", "mime_type": "audio/mpeg"}
    Rendition.objects.create(**fields, byte_size=1, storage_key="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        Rendition.objects.create(**fields, byte_size=1, storage_key="b")


def test_show_notes_are_sanitised_on_save(episode: Episode) -> None:
    episode.show_notes = '<p onclick="steal()">Привіт <script>alert(1)</script><a href="javascript:x">x</a></p>'
    episode.save()
    episode.refresh_from_db()
    assert "script" not in episode.show_notes
    assert "onclick" not in episode.show_notes
    assert "javascript" not in episode.show_notes
    assert "Привіт" in episode.show_notes


def _image(fmt: str, width: int, height: int) -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, format=fmt)
    return SimpleUploadedFile(f"art.{fmt.lower()}", buf.getvalue())


@pytest.mark.parametrize(("fmt", "w", "h"), [("PNG", 1400, 1400), ("JPEG", 3000, 3000)])
def test_artwork_accepts_square_jpeg_and_png_within_apples_range(fmt: str, w: int, h: int) -> None:
    validate_artwork(_image(fmt, w, h))


@pytest.mark.parametrize(
    ("fmt", "w", "h", "message"),
    [
        ("PNG", 1399, 1399, "between 1400 and 3000"),
        ("PNG", 3001, 3001, "between 1400 and 3000"),
        ("PNG", 1400, 1500, "square"),
        ("GIF", 1400, 1400, "JPEG or PNG"),
    ],
)
def test_artwork_rejections_say_what_is_wrong(fmt: str, w: int, h: int, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_artwork(_image(fmt, w, h))


def test_artwork_that_is_not_an_image_is_rejected() -> None:
    with pytest.raises(ValidationError, match="JPEG or PNG"):
        validate_artwork(SimpleUploadedFile("art.png", b"not an image at all"))
