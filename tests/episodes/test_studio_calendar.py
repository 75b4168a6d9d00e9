"""The publishing calendar: each item on its day in its show's time zone, only the producer's own shows, and a
constant number of queries."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from episodes.models import Episode, Show, Status, Video
from episodes.services import content
from episodes.studio.calendar import month_from_param, month_weeks, place_entries, shift_month
from tests.conftest import cover_art

pytestmark = pytest.mark.django_db
SLUGS = itertools.count(1)


@pytest.fixture
def kyiv_show(db: None) -> Show:
    show = content.show_create(title="Kyiv Explained", slug="kyiv-explained", description="Explainers.",
                               categories=[["News"]], artwork=cover_art("kyiv.png"))  # fmt: skip
    return content.show_update(show=show, time_zone="Europe/Kyiv")


@pytest.fixture
def producers(show: Show, kyiv_show: Show) -> dict[str, User]:
    a = User.objects.create_user("producer_a", password="pw-a-123456")
    b = User.objects.create_user("producer_b", password="pw-b-123456")
    show.members.add(a)
    kyiv_show.members.add(b)
    return {"a": a, "b": b, "staff": User.objects.create_superuser("editor", "e@example.com", "pw-staff-123456")}


def published(show: Show, title: str, at: datetime, *, video: bool = False) -> Episode | Video:
    """A published row at ``at`` (the calendar reads rows; publishing's own checks are tested elsewhere)."""
    slug = f"item-{next(SLUGS)}"
    item = content.video_create(show=show, title=title, slug=slug) if video else content.episode_create(
        show=show, title=title, slug=slug)  # fmt: skip
    type(item).objects.filter(pk=item.pk).update(status=Status.PUBLISHED, publish_at=at)
    item.refresh_from_db()
    return item


def calendar(client: Client, user: User, month: str = "") -> Any:
    client.force_login(user)
    url = reverse("admin:episodes_episode_studio_calendar") + (f"?month={month}" if month else "")
    return client.get(url)


def test_months_are_read_strictly_and_weeks_start_on_monday() -> None:
    today = date(2026, 12, 6)
    assert month_from_param("", today=today) == date(2026, 12, 1)
    assert month_from_param("2027-02", today=today) == date(2027, 2, 1)
    for bad in ("2027-13", "2027-00", "1999-12", "2101-01", "2027-2", "27-02", "2027-02-01", "двадцять"):
        assert month_from_param(bad, today=today) is None, bad
    weeks = month_weeks(date(2026, 12, 1))
    assert weeks[0][0] == date(2026, 11, 30) and weeks[-1][-1] == date(2027, 1, 3)
    assert all(len(week) == 7 and week[0].weekday() == 0 for week in weeks)
    assert shift_month(date(2026, 12, 1), 1) == date(2027, 1, 1)
    assert shift_month(date(2026, 1, 1), -1) == date(2025, 12, 1)


def test_an_item_sits_on_its_day_in_its_shows_time_zone(show: Show, kyiv_show: Show) -> None:
    instant = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 January in Kyiv
    in_kyiv = published(kyiv_show, "Новорічний випуск", instant)
    in_utc = published(show, "Year in review", instant)
    days = place_entries([in_kyiv, in_utc], month_weeks(date(2026, 12, 1)), now=instant - timedelta(days=1))
    [kyiv_entry] = days[date(2027, 1, 1)]
    [utc_entry] = days[date(2026, 12, 31)]
    assert kyiv_entry.item == in_kyiv and kyiv_entry.time_label == "00:30 EET" and kyiv_entry.state == "scheduled"
    assert utc_entry.item == in_utc and utc_entry.local.hour == 22
    later = place_entries([in_utc], month_weeks(date(2026, 12, 1)), now=instant + timedelta(seconds=1))
    assert later[date(2026, 12, 31)][0].state == "live"
    # Outside the weeks shown: not placed.
    assert place_entries([in_utc], month_weeks(date(2026, 10, 1)), now=instant) == {}


def test_producers_see_their_own_shows_schedule_and_staff_see_every_show(
    client: Client, producers: dict[str, User], show: Show, kyiv_show: Show
) -> None:
    soon = timezone.now() + timedelta(days=3)
    month = f"{soon:%Y-%m}"
    mine = published(show, "Тиждень 7", soon)
    explainer = published(show, "Що таке санкції?", soon + timedelta(hours=1), video=True)
    theirs = published(kyiv_show, "Secret schedule of B", soon)
    waiting = content.episode_create(show=show, title="Waiting for processing", slug="waiting")
    problem = "Processing failed: the file has no sound."
    Episode.objects.filter(pk=waiting.pk).update(status=Status.FAILED, publish_when_ready=True, publish_problem=problem)

    page = calendar(client, producers["a"], month).content.decode()
    assert "Тиждень 7" in page and "Що таке санкції?" in page and "Secret schedule of B" not in page
    assert reverse("admin:episodes_episode_change", args=[mine.pk]) in page
    assert reverse("admin:episodes_video_change", args=[explainer.pk]) in page
    assert "Scheduled" in page and f"{soon:%B %Y}" in page
    assert "Waiting for processing" in page and "the file has no sound" in page

    page_b = calendar(client, producers["b"], month).content.decode()
    assert "Secret schedule of B" in page_b and "Тиждень 7" not in page_b and "Waiting for processing" not in page_b
    assert reverse("admin:episodes_episode_change", args=[theirs.pk]) in page_b

    page_staff = calendar(client, producers["staff"], month).content.decode()
    assert "Тиждень 7" in page_staff and "Secret schedule of B" in page_staff


def test_a_malformed_month_shows_this_month_with_a_message(client: Client, producers: dict[str, User]) -> None:
    response = calendar(client, producers["a"], "2026-13")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Write the month as YYYY-MM" in body and f"{timezone.localdate():%B %Y}" in body


def test_the_calendar_costs_the_same_queries_for_3_or_30_items(
    client: Client, producers: dict[str, User], show: Show
) -> None:
    start = datetime(2030, 5, 1, 9, tzinfo=UTC)
    calendar(client, producers["a"], "2030-05")  # the first request of a session pays for its set-up
    counts: list[int] = []
    for n in (3, 27):
        for i in range(n):
            published(show, f"Випуск {len(counts)}-{i}", start + timedelta(hours=13 * i), video=i % 3 == 0)
        with CaptureQueriesContext(connection) as queries:
            assert calendar(client, producers["a"], "2030-05").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_lists_and_edit_pages_link_to_the_calendar(client: Client, producers: dict[str, User], show: Show) -> None:
    content.show_update(show=show, time_zone="Europe/Kyiv")
    episode = published(show, "Тиждень 8", datetime(2031, 2, 28, 22, 30, tzinfo=UTC))  # 00:30 on 1 March in Kyiv
    client.force_login(producers["a"])
    calendar_url = reverse("admin:episodes_episode_studio_calendar")
    assert calendar_url in client.get(reverse("admin:episodes_episode_changelist")).content.decode()
    assert reverse("admin:episodes_video_studio_calendar") in client.get(
        reverse("admin:episodes_video_changelist")).content.decode()  # fmt: skip
    edit = client.get(reverse("admin:episodes_episode_change", args=[episode.pk])).content.decode()
    assert f"{calendar_url}?month=2031-03" in edit and "(live 2031-03-01 00:30 EET)" in edit
