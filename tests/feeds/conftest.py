"""Feed test data and the podcast-partytime parser (Node) as a session fixture."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feeds.data import (
    AlternateEnclosure,
    FeedEpisode,
    FeedShow,
    Funding,
    Integrity,
    Person,
    Soundbite,
    Transcript,
)
from tests.conftest import need

NODE_DIR = Path(__file__).parent / "node"

# A percent-encoded Ukrainian slug, as the CMS stores it ("україна-тиждень-5").
UA_SLUG = "%D1%83%D0%BA%D1%80%D0%B0%D1%97%D0%BD%D0%B0-%D1%82%D0%B8%D0%B6%D0%B4%D0%B5%D0%BD%D1%8C-5"
BASE_DATE = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)


def make_show(**overrides: Any) -> FeedShow:
    """Return a fully populated show; keyword arguments replace fields."""
    show = FeedShow(
        title="Україна: тиждень 5",
        description="Щотижневий огляд новин. Weekly news review.",
        link=f"https://news.example.com/podcasts/{UA_SLUG}",
        feed_url="https://news.example.com/podcasts/ukraine-week/feed.xml",
        language="uk",
        image_url="https://cdn.example.com/covers/ukraine-week.jpg",
        categories=(("News", "Daily News"), ("News", "Politics"), ("Society & Culture", None)),
        explicit=False,
        author="Редакція News Example",
        owner_name="News Example",
        owner_email="podcasts@news.example.com",
        podcast_guid=uuid.UUID("c3f1c7a2-6f0e-5b5e-9d7a-0a1b2c3d4e5f"),
        last_build_date=BASE_DATE,
        copyright="© 2024 News Example",
        show_type="episodic",
        locked=True,
        funding=(Funding(url="https://news.example.com/support", text="Підтримайте редакцію"),),
        persons=(Person(name="Олена Петренко", role="host", href="https://news.example.com/olena"),),
        medium="podcast",
        hub_url="https://pubsubhubbub.appspot.com/",
    )
    return dataclasses.replace(show, **overrides)


def make_episode(number: int = 1, **overrides: Any) -> FeedEpisode:
    """Return episode `number` with every optional tag filled; keyword arguments replace fields."""
    media = f"https://cdn.example.com/ukraine-week/{number}/{UA_SLUG}"
    episode = FeedEpisode(
        guid=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, media)}",
        title=f"Тиждень {number}: що змінилося",
        summary=f"Коротко про головне, випуск {number}.",
        content_html=f"<p>Нотатки до випуску {number}. <a href='https://news.example.com/{number}'>Стаття</a></p>",
        pub_date=BASE_DATE - timedelta(days=7 * number),
        enclosure_url=f"{media}.mp3",
        enclosure_length=10_000_000 + number,
        enclosure_type="audio/mpeg",
        duration=1799.6,
        link=f"https://news.example.com/podcasts/ukraine-week/{number}",
        episode=number,
        season=1,
        episode_type="full",
        explicit=False,
        image_url=f"https://cdn.example.com/ukraine-week/{number}/cover.png",
        transcripts=(
            Transcript(url=f"{media}.vtt", mime_type="text/vtt", language="uk", rel="captions"),
            Transcript(url=f"{media}.srt", mime_type="application/x-subrip", language="uk"),
            Transcript(url=f"{media}.json", mime_type="application/json", language="uk"),
        ),
        chapters_url=f"{media}.chapters.json",
        soundbites=(Soundbite(start=73.5, duration=45.0, title="Головна цитата"),),
        persons=(Person(name="Гість Випуску", role="guest", img="https://cdn.example.com/guest.jpg"),),
        alternate_enclosures=(
            AlternateEnclosure(
                mime_type="audio/mp4",
                sources=(f"{media}.m4a",),
                length=8_000_000,
                bitrate=96_000,
                title="AAC",
                codecs="mp4a.40.2",
                default=True,
                integrity=Integrity(type="sri", value="sha384-AbCdEf0123456789"),
            ),
            AlternateEnclosure(mime_type="audio/opus", sources=(f"{media}.opus",), length=4_000_000, bitrate=48_000),
        ),
    )
    return dataclasses.replace(episode, **overrides)


@pytest.fixture(scope="session")
def partytime() -> Callable[[bytes], dict[str, Any]]:
    """Parse RSS bytes with podcast-partytime (npm) and return its JSON; installs it with `npm ci` once."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        need("node and npm", "podcast-partytime runs on Node.js")
        raise AssertionError("unreachable")
    if not (NODE_DIR / "node_modules" / "podcast-partytime").is_dir():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            need("podcast-partytime", f"`npm ci` in {NODE_DIR} failed: {result.stderr[-500:]}")

    def parse(xml: bytes) -> dict[str, Any]:
        result = subprocess.run(
            [node, str(NODE_DIR / "parse.mjs")],
            input=xml,
            capture_output=True,
            timeout=60,
            check=False,
            env={**os.environ, "LOG": "silent"},
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    return parse


@pytest.fixture(autouse=True)
def eager_celery() -> Any:
    """Run Celery tasks in-process: tests must not leave messages in the development broker folder."""
    from media_hub.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many items each render built with feedgen (feeds.items' calls of serialised_items)."""
    import feeds.builder as builder
    import feeds.items as items

    counts: list[int] = []
    real = builder.serialised_items

    def counting(fg: Any, episodes: Any) -> list[bytes]:
        counts.append(len(episodes))
        return real(fg, episodes)

    monkeypatch.setattr(items, "serialised_items", counting)
    return counts
