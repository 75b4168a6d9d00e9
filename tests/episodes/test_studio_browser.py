"""The producer's journey in Debian's headless Chromium against a real gunicorn: log in, see the processed
episode's waveform, set chapters on it, publish, find the item in the feed with those chapters; a producer of
another show sees none of it. Screenshots: test-artifacts/studio/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files import File

from episodes.models import Episode, ProcessingJob, Show, Status
from episodes.services.content import episode_create, show_create
from episodes.services.uploads import media_source_create
from tests.conftest import cover_art, need
from tests.embeds.conftest import Server, web_server  # noqa: F401 - the fixture is used by name

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "studio"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(autouse=True)
def eager_tasks() -> Iterator[None]:
    from media_hub.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM.exists():
        need("chromium", "Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        browser.close()


def _login(browser: Any, server: Server, username: str, password: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server.base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    return page


def test_a_producer_sets_chapters_on_the_waveform_publishes_and_finds_them_in_the_feed(
    web_server: Server,  # noqa: F811 - the imported fixture
    browser: Any,
    show: Show,
    speech_wav: Path,  # noqa: F811
) -> None:
    a = User.objects.create_user("producer_a", password="pw-a-123456")
    b = User.objects.create_user("producer_b", password="pw-b-123456")
    show.members.add(a)
    other = show_create(title="Kyiv Explained", slug="kyiv-explained", description="E.", categories=[["News"]],
                        artwork=cover_art("k.png"))  # fmt: skip
    other.members.add(b)
    episode = episode_create(show=show, title="Тиждень 6", slug="тиждень-6", summary="Week six.")
    with speech_wav.open("rb") as fh:
        source = media_source_create(owner=episode, file=File(fh, name="take.wav"), filename="take.wav")
    assert source.jobs.get().state == ProcessingJob.State.SUCCEEDED

    page = _login(browser, web_server, "producer_a", "pw-a-123456")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{web_server.base_url}/admin/episodes/episode/{episode.pk}/change/")
    page.wait_for_selector("#studio-waveform[data-ready='1']", timeout=15000)
    assert page.locator("#studio-status").inner_text().startswith("Status: Ready")
    page.screenshot(path=str(SHOTS / "1-edit-page-ready-with-waveform.png"), full_page=True)

    # First chapter at 0:00 by typing; the second at the playhead set by clicking the waveform.
    page.fill("#id_chapters-0-start", "0:00")
    page.fill("#id_chapters-0-title", "Вступ")
    canvas = page.locator("#studio-waveform canvas")
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] * 0.5, "y": box["height"] / 2})  # scrolls it into view first
    page.click("[data-add-chapter]")
    page.keyboard.type("Новини")
    start = page.locator("#id_chapters-1-start").input_value()
    assert start not in {"", "0:00"}, (page.locator("[data-wave-info]").inner_text(), errors, box)
    page.screenshot(path=str(SHOTS / "2-chapters-on-the-waveform.png"), full_page=True)
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")
    episode.refresh_from_db()
    assert [c["title"] for c in episode.chapters] == ["Вступ", "Новини"]
    assert 1 <= episode.chapters[1]["start"] <= 3

    page.click("button[value=when_ready]")  # already processed: goes live at once
    page.wait_for_selector(".messagelist")
    page.screenshot(path=str(SHOTS / "3-published.png"), full_page=True)
    episode.refresh_from_db()
    assert episode.status == Status.PUBLISHED

    status, _, feed = web_server.get("/feeds/ukraine-insights.xml")
    assert status == 200 and "Тиждень 6" in feed.decode()
    status, _, chapters = web_server.get(f"/d/e/{episode.pk}/chapters.json")
    assert status == 200 and "Новини" in chapters.decode()

    other_page = _login(browser, web_server, "producer_b", "pw-b-123456")
    other_page.goto(f"{web_server.base_url}/admin/episodes/episode/")
    assert "Тиждень 6" not in other_page.content()
    other_page.goto(f"{web_server.base_url}/admin/episodes/episode/{episode.pk}/change/")
    assert "Тиждень 6" not in other_page.content()
    other_page.screenshot(path=str(SHOTS / "4-other-producer-sees-nothing.png"), full_page=True)
    assert Episode.objects.get(pk=episode.pk).status == Status.PUBLISHED
