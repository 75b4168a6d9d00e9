"""Processing jobs on awkward real media: silence, empty files, non-media; what the producer is told."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File

from episodes.models import Episode, MediaSource, ProcessingJob, Status
from episodes.services.uploads import media_source_create
from tests.conftest import make_clip

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def eager_tasks() -> Iterator[None]:
    from media_hub.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def upload(owner: Episode, path: Path, name: str) -> MediaSource:
    with path.open("rb") as fh:
        return media_source_create(owner=owner, file=File(fh, name=name), filename=name)


def finite_json(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_json(v) for v in value.values())
    if isinstance(value, list):
        return all(finite_json(v) for v in value)
    return True


@pytest.mark.parametrize("source", ["anullsrc", "near-silence"])
def test_silent_audio_gets_renditions_with_no_gain(episode: Episode, tmp_path: Path, source: str) -> None:
    if source == "anullsrc":
        lavfi = "anullsrc=r=44100:cl=stereo:d=3"
    else:  # a faint hiss, 90 dB down: effectively silence, do not pump it up
        lavfi = "anoisesrc=c=white:a=0.00003:d=3:r=44100"
    wav = make_clip(tmp_path / f"{source}.wav", "-f", "lavfi", "-i", lavfi, "-ac", "2", "-c:a", "pcm_s16le")
    job = upload(episode, wav, "silence.wav").jobs.get()
    assert job.state == ProcessingJob.State.SUCCEEDED, (job.error, job.error_detail)
    assert job.attempts == 1
    assert job.loudness["gain_db"] == 0.0 and job.loudness["silent"] is True
    assert finite_json(job.loudness)
    episode.refresh_from_db()
    assert episode.status == Status.READY
    assert {"audio_mp3", "audio_aac", "audio_opus", "waveform"} <= set(
        episode.renditions.values_list("kind", flat=True)
    )


def test_a_data_error_is_not_reported_as_an_outage_nor_retried(
    episode: Episode, speech_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from episodes.services import processing

    # A NaN in a JSON field: SQLite's JSON_VALID check raises IntegrityError, PostgreSQL's json type DataError.
    monkeypatch.setattr(processing, "loudness_summary", lambda result: {"integrated_lufs": float("nan")})
    job = upload(episode, speech_wav, "episode.wav").jobs.get()
    assert job.state == ProcessingJob.State.FAILED and job.attempts == 1
    assert job.error and "unavailable" not in job.error and "could not be saved" in job.error
    assert "Error(" in job.error_detail  # staff see the database's own words


def test_a_damaged_upload_is_listed_in_the_feed_with_the_duration_written(
    episode: Episode, tmp_path: Path, client: Any
) -> None:
    import feedparser

    from episodes.services.content import episode_publish

    whole = make_clip(
        tmp_path / "whole.mp4", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=10",
        "-f", "lavfi", "-i", "sine=f=330:d=10:sample_rate=44100", "-c:v", "libx264", "-preset", "ultrafast",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-movflags", "+faststart",
    )  # fmt: skip
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    source = upload(episode, cut, "cut.mp4")
    job = source.jobs.get()
    assert job.state == ProcessingJob.State.SUCCEEDED, (job.error, job.error_detail)
    source.refresh_from_db()
    mp3 = episode.renditions.get(kind="audio_mp3")
    assert source.duration == pytest.approx(10.0, abs=0.1)  # the header's claim
    assert mp3.duration is not None and 5.5 < mp3.duration < 7.5
    episode_publish(episode=episode)
    parsed = feedparser.parse(client.get(f"/feeds/{episode.show.slug}.xml").content)
    (entry,) = parsed.entries
    assert int(entry.itunes_duration) == round(mp3.duration)


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8"/></svg>'


def test_a_picture_fails_while_inspecting_with_a_reason_a_producer_reads(episode: Episode, tmp_path: Path) -> None:
    logo = tmp_path / "logo.mp3"
    logo.write_bytes(SVG)
    job = upload(episode, logo, "logo.mp3").jobs.get()
    assert job.state == ProcessingJob.State.FAILED and job.attempts == 1
    assert job.error.startswith("This is a picture (SVG), not a recording.")
    assert "detected" not in job.error and "svg_pipe" not in job.error
    assert (job.stage, job.get_stage_display()) == (ProcessingJob.Stage.PROBING, "Inspecting the file")


def test_a_failure_while_measuring_records_that_stage(
    episode: Episode, speech_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from episodes.media import ffmpeg

    real = ffmpeg.analysis_argv
    # The measuring pass reads a file that is not there: a real ffmpeg failure in the analyse stage.
    monkeypatch.setattr(ffmpeg, "analysis_argv", lambda p, exe: [*real(p, exe)[:1], "-i", "/nonexistent.wav"])
    job = upload(episode, speech_wav, "episode.wav").jobs.get()
    assert job.state == ProcessingJob.State.FAILED
    assert job.stage == ProcessingJob.Stage.ANALYSING and job.get_stage_display() == "Measuring loudness"
    assert job.error.startswith("The file could not be converted") and "exit status" not in job.error
    assert "/nonexistent.wav" in job.error_detail  # ffmpeg's own words stay for staff
