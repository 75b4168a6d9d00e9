"""Tags follow edits: real renditions (bundled ffmpeg) get new tags without re-encoding, under new URLs."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from django.core.files import File
from django.test import Client
from django.utils import timezone
from mutagen.flac import Picture
from mutagen.id3 import ID3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus

from episodes.links import rendition_path
from episodes.media.retag import id3v2_size
from episodes.models import Episode, Rendition, Show, TagRewrite
from episodes.services import retagging
from episodes.services.content import episode_publish, episode_update, show_update
from episodes.services.demo import generate_demo_artwork
from episodes.services.uploads import media_source_create
from episodes.storage import storage

pytestmark = pytest.mark.django_db(transaction=True)

CHAPTERS = [{"start": 0, "title": "Вступ"}, {"start": 2, "title": "Новини тижня"}]


@pytest.fixture(autouse=True)
def eager_tasks(settings: Any) -> Iterator[None]:
    from media_hub.celery import app

    settings.TAG_REWRITE_DELAY_SECONDS = 0
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def processed(episode: Episode, wav: Path) -> Episode:
    with wav.open("rb") as fh:
        media_source_create(owner=episode, file=File(fh, name="a.wav"), filename="a.wav")
    episode.refresh_from_db()
    assert episode.renditions.filter(kind="audio_mp3").exists(), episode.sources.get().jobs.get().error
    return episode_publish(episode=episode)


def local_copy(rendition: Rendition, tmp_path: Path) -> Path:
    target = tmp_path / f"{rendition.pk}-{rendition.sha256[:8]}{Path(rendition.storage_key).suffix}"
    with storage().open(rendition.storage_key, "rb") as src:
        target.write_bytes(src.read())
    return target


def packets(path: Path) -> list[bytes]:
    """The coded audio packets of a file: equal lists mean the audio was copied, not encoded again."""
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def served(client: Client, url: str) -> tuple[int, bytes, Any]:
    response: Any = client.get(url)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, content, response


def audio(episode: Episode) -> dict[str, Rendition]:
    return {r.kind: r for r in episode.renditions.filter(kind__in=("audio_mp3", "audio_aac", "audio_opus"))}


def test_edits_reach_the_files_tags_without_reencoding_under_new_urls(
    episode: Episode, show: Show, speech_wav: Path, tmp_path: Path, client: Client
) -> None:
    episode = processed(episode, speech_wav)  # the show has its first cover (a show cannot go live without one)
    before = audio(episode)
    before_files = {kind: local_copy(r, tmp_path) for kind, r in before.items()}
    old_tags = ID3(before_files["audio_mp3"])
    old_cover = old_tags.getall("APIC")[0].data
    assert not old_tags.getall("CHAP")
    old_url = rendition_path(before["audio_mp3"])
    # The feed is built and cached (rendered bytes, FeedItem rows) before the edit.
    assert old_url in served(client, f"/feeds/{show.slug}.xml")[1].decode()

    # The normal flow: upload first, then chapters, a new title, a number; the show's cover changes later.
    episode_update(episode=episode, title="Тиждень 5: енергетика", number=5, chapters=CHAPTERS)
    cover = generate_demo_artwork(tmp_path / "cover.png")
    with cover.open("rb") as fh:
        show_update(show=show, artwork=File(fh, name="cover.png"))

    assert not TagRewrite.objects.exists()
    after = audio(episode)
    for kind in before:
        assert after[kind].storage_key != before[kind].storage_key and after[kind].sha256 != before[kind].sha256
        assert not storage().exists(before[kind].storage_key)  # replaced files are deleted
    files = {kind: local_copy(r, tmp_path) for kind, r in after.items()}
    cover_bytes = cover.read_bytes()
    assert cover_bytes != old_cover

    # MP3: ID3v2.3 with the new title, number, cover and CHAP/CTOC chapters; the MPEG frames byte for byte.
    tags = ID3(files["audio_mp3"])
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == "Тиждень 5: енергетика" and str(tags["TRCK"]) == "5"
    assert tags.getall("APIC")[0].data == cover_bytes
    from episodes.media.tags import read_id3_chapters

    assert [(start, title) for start, _end, title in read_id3_chapters(files["audio_mp3"])] == [
        (0.0, "Вступ"), (2.0, "Новини тижня")
    ]  # fmt: skip
    with before_files["audio_mp3"].open("rb") as old, files["audio_mp3"].open("rb") as new:
        old.seek(id3v2_size(old))
        new.seek(id3v2_size(new))
        assert old.read() == new.read()

    # M4A: atoms, cover and chapters (a stream copy: the same AAC packets).
    mp4 = MP4(files["audio_aac"])
    assert mp4.tags is not None and mp4.tags["\xa9nam"] == ["Тиждень 5: енергетика"]
    assert bytes(mp4.tags["covr"][0]) == cover_bytes and mp4.tags["trkn"] == [(5, 0)]
    with av.open(str(files["audio_aac"])) as container:
        assert [c["metadata"]["title"] for c in container.chapters()] == ["Вступ", "Новини тижня"]
    assert packets(files["audio_aac"]) == packets(before_files["audio_aac"])

    # Opus: Vorbis comments, CHAPTERnnn, METADATA_BLOCK_PICTURE (the same Opus packets).
    opus = OggOpus(files["audio_opus"])
    assert opus.tags is not None and opus.tags["title"] == ["Тиждень 5: енергетика"]
    assert opus.tags["CHAPTER002"] == ["00:00:02.000"] and opus.tags["CHAPTER002NAME"] == ["Новини тижня"]
    assert Picture(base64.b64decode(opus.tags["METADATA_BLOCK_PICTURE"][0])).data == cover_bytes
    assert packets(files["audio_opus"]) == packets(before_files["audio_opus"])

    # The feed encloses the new URL with the length of exactly the bytes served there.
    import feedparser

    from feeds import selectors

    selectors._recent_states.clear()  # a process reuses a feed's state for up to a second (STATE_REUSE_SECONDS)
    feed = feedparser.parse(served(client, f"/feeds/{show.slug}.xml")[1])
    (enclosure,) = feed.entries[0].enclosures
    new_url = rendition_path(after["audio_mp3"])
    assert enclosure.href.endswith(new_url) and new_url != old_url
    status, content, _ = served(client, new_url)
    assert status == 200 and int(enclosure.length) == len(content) == after["audio_mp3"].byte_size
    assert content == files["audio_mp3"].read_bytes()
    # The old URL (which a CDN may still hold with the old bytes) never serves other bytes: it redirects.
    status, _, response = served(client, old_url)
    assert status == 302 and response["Location"].endswith(new_url)
    unversioned = f"/d/e/{episode.pk}/audio_mp3.mp3"  # the URL of feeds written before versions
    assert client.head(unversioned)["Location"].endswith(new_url)


def test_a_burst_of_edits_is_rewritten_once(
    episode: Episode, speech_wav: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    episode = processed(episode, speech_wav)
    settings.TAG_REWRITE_DELAY_SECONDS = 30
    calls: list[str] = []
    real_retag = retagging.retag

    def counted(kind: str, *args: Any, **kwargs: Any) -> None:
        calls.append(kind)
        real_retag(kind, *args, **kwargs)

    monkeypatch.setattr(retagging, "retag", counted)
    for n in range(1, 4):
        episode_update(episode=episode, title=f"Правка {n}")
    # Each edit sent a message; each arrived before the row was due (eager) and did nothing.
    row = TagRewrite.objects.get(episode=episode)
    assert calls == [] and row.due_at > timezone.now()
    TagRewrite.objects.filter(pk=row.pk).update(due_at=timezone.now() - timedelta(seconds=1), sent_at=None)
    assert retagging.tags_sweep() == [row.pk]  # the sweeper sends it (as if the last message had been lost)
    assert sorted(calls) == ["audio_aac", "audio_mp3", "audio_opus"]
    assert not TagRewrite.objects.exists()
    mp3 = episode.renditions.get(kind="audio_mp3")
    assert str(ID3(storage().path(mp3.storage_key))["TIT2"]) == "Правка 3"
    # Nothing left to do: an edit that does not touch the tags queues nothing.
    episode_update(episode=episode, soundbites=[{"start": 1, "duration": 2}])
    assert not TagRewrite.objects.exists() and len(calls) == 3


def test_a_broker_outage_loses_no_rewrite(episode: Episode, speech_wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kombu.exceptions import OperationalError

    from episodes.tasks import rewrite_tags

    episode = processed(episode, speech_wav)

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(rewrite_tags, "apply_async", broker_down)
    episode_update(episode=episode, title="Під час збою")  # the edit itself succeeds
    row = TagRewrite.objects.get(episode=episode)
    assert row.sent_at is None
    monkeypatch.undo()
    assert retagging.tags_sweep() == [row.pk]
    assert str(ID3(storage().path(episode.renditions.get(kind="audio_mp3").storage_key))["TIT2"]) == "Під час збою"


def test_an_edit_during_processing_is_rewritten_after_it(
    episode: Episode, speech_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Processing wrote the tags it read at its start; an edit after that reaches the files once it is done."""
    from episodes.services import processing

    real = processing._process

    def edited_while_encoding(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        Episode.objects.filter(pk=episode.pk).update(title="Змінено під час обробки")
        return result

    monkeypatch.setattr(processing, "_process", edited_while_encoding)
    episode = processed(episode, speech_wav)
    mp3 = episode.renditions.get(kind="audio_mp3")
    assert str(ID3(storage().path(mp3.storage_key))["TIT2"]) == "Змінено під час обробки"


def test_id3_dates_are_the_v23_frames_eyed3_reads(episode: Episode, speech_wav: Path) -> None:
    import eyed3

    episode = processed(episode, speech_wav)
    path = storage().path(episode.renditions.get(kind="audio_mp3").storage_key)
    tags = ID3(path, translate=False)  # the frames as stored (mutagen otherwise upgrades v2.3 dates to TDRC)
    assert tags.version[:2] == (2, 3) and "TDRC" not in tags
    assert str(tags["TYER"]) == f"{episode.publish_at:%Y}" and str(tags["TDAT"]) == f"{episode.publish_at:%d%m}"
    audio_file = eyed3.load(path)
    assert audio_file is not None and audio_file.tag is not None
    assert str(audio_file.tag.getBestDate()).startswith(f"{episode.publish_at:%Y}")


@pytest.mark.s3
def test_rewrite_on_s3(episode: Episode, speech_wav: Path, s3_storage: Any, client: Client, settings: Any) -> None:
    """The same on a real S3 server: new objects, old ones deleted, the redirect serves the new bytes."""
    import urllib.request

    episode = processed(episode, speech_wav)
    old = episode.renditions.get(kind="audio_mp3")
    episode_update(episode=episode, title="S3: нова назва", chapters=CHAPTERS)
    new = episode.renditions.get(kind="audio_mp3")
    assert new.storage_key != old.storage_key and not storage().exists(old.storage_key)
    response = client.get(rendition_path(new))
    assert response.status_code == 302
    with urllib.request.urlopen(response["Location"], timeout=10) as fetched:  # noqa: S310 - our test server
        content = fetched.read()
        disposition = fetched.headers["Content-Disposition"]
    assert len(content) == new.byte_size
    local = Path(settings.MEDIA_WORK_DIR) / "check.mp3"
    local.write_bytes(content)
    assert str(ID3(local)["TIT2"]) == "S3: нова назва" and len(ID3(local).getall("CHAP")) == 2
    assert "filename*=UTF-8''" in disposition
    assert client.get(rendition_path(old))["Location"].endswith(rendition_path(new))
