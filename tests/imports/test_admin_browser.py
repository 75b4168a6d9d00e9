"""The import and members admin in Debian's Chromium against a real gunicorn: an editor starts an import from a
feed URL and sees each item's progress (one bad item failing alone, with its reason); grants a member (as the
membership system would), finds the private feed URL on the member's page, and revokes it: the feed stops at once.
Screenshots: test-artifacts/imports/."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from imports.models import ImportItem, ImportJob
from imports.services import import_item_download, import_run
from members.services import member_grant
from tests.embeds.conftest import Server, web_server, web_server_env  # noqa: F401 - fixtures used by name
from tests.episodes.test_studio_browser import _login, browser  # noqa: F401
from tests.imports.conftest import FeedServer, Route
from tests.imports.test_import import feed, item

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "imports"


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our loopback server
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_an_editor_imports_a_show_and_manages_a_member_in_the_admin(
    web_server: Server,  # noqa: F811 - the imported fixture
    browser: Any,  # noqa: F811
    feed_server: FeedServer,
    speech_wav: Path,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    User.objects.create_user("editor", password="pw-editor-123456", is_staff=True, is_superuser=True)
    feed_server.routes["/ep1.wav"] = Route(body=speech_wav.read_bytes(), content_type="audio/wav")
    feed_server.routes["/feed.xml"] = Route(
        body=feed(item(1, feed_server.url("/ep1.wav")) + item(2, feed_server.url("/missing.mp3"))),
        content_type="application/rss+xml",
    )
    base = web_server.base_url
    page = _login(browser, web_server, "editor", "pw-editor-123456")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # 1. Start an import from the feed's URL.
    page.goto(f"{base}/admin/imports/importjob/add/")
    page.fill("#id_source_url", feed_server.url("/feed.xml"))
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    job = ImportJob.objects.get()
    page.screenshot(path=str(SHOTS / "1-import-started.png"), full_page=True)

    # 2. The worker's part (run here): read the feed, then download each item; one enclosure is missing.
    assert import_run(job_id=job.pk) is not None
    for row in ImportItem.objects.filter(job=job):
        import_item_download(item_id=row.pk)
    page.goto(f"{base}/admin/imports/importjob/{job.pk}/change/")
    text = page.inner_text("#content")
    assert "Випуск 1: «Київ уночі»" in text and "Випуск 2: «Київ уночі»" in text
    states = dict(ImportItem.objects.filter(job=job).values_list("guid", "state"))
    assert states == {"golos-1": ImportItem.State.PROCESSING, "golos-2": ImportItem.State.FAILED}, states
    assert "processing" in text and "failed" in text and "The enclosure answered 404." in text  # reason shown
    assert "Artwork not taken" in page.inner_text(".field-warnings_list")  # what was skipped, as a list
    page.screenshot(path=str(SHOTS / "2-import-items-progress.png"), full_page=True)

    # 3. A member granted by the membership system: the page lists their private feed URL; it works.
    member = member_grant(external_id="member-42")
    page.goto(f"{base}/admin/members/member/{member.pk}/change/")
    urls = page.eval_on_selector_all(".field-feed_urls code", "els => els.map(e => e.textContent)")
    assert urls and all(member.token in u for u in urls), urls
    private = next(u for u in urls if "/feeds/" in u)
    local = base + private[private.index("/members/") :]
    assert status_of(local) == 200
    page.screenshot(path=str(SHOTS / "3-member-feed-urls.png"), full_page=True)

    # 4. Revoke from the list: the feed stops answering at once.
    page.goto(f"{base}/admin/members/member/")
    page.check(f"input[name=_selected_action][value='{member.pk}']")
    page.select_option("select[name=action]", "revoke")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert "Revoked." in page.inner_text(".messagelist")
    assert status_of(local) in {403, 404, 410}
    page.screenshot(path=str(SHOTS / "4-member-revoked.png"), full_page=True)
    assert not errors, errors
