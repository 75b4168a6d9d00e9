"""The publishing calendar: what goes live when, a month at a time, in each show's own time zone.

    month = month_from_param("2026-12", today=date(2026, 12, 6))   # None for anything but YYYY-MM in 2000–2100
    weeks = month_weeks(month)                                      # whole weeks, Monday first
    days = place_entries(items, weeks, now=timezone.now())          # {date: [CalendarEntry, …]}

An item is placed on the day its ``publish_at`` falls on in its show's time zone (a Kyiv show's 00:30 is that day
in Kyiv, the evening before in UTC). Only published items have a place: a future ``publish_at`` is *scheduled*,
a past one *live*. Drafts set to publish when ready have no date yet and are listed apart.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from episodes.models import Episode, Video

from .views import change_url

MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class CalendarEntry:
    item: Episode | Video
    local: datetime  # publish_at in the show's time zone
    state: str  # "scheduled" or "live"

    @property
    def kind(self) -> str:
        return "Episode" if isinstance(self.item, Episode) else "Video"

    @property
    def time_label(self) -> str:
        return zone_label(self.local, "%H:%M")

    @property
    def url(self) -> str:
        return change_url(self.item)


def local_publish_at(item: Episode | Video) -> datetime | None:
    """``publish_at`` in the item's show's time zone: the time the producer set (None when it has none)."""
    return item.publish_at.astimezone(ZoneInfo(item.show.time_zone)) if item.publish_at else None


def zone_label(local: datetime, fmt: str) -> str:
    """``09:30 EET``: formatted here, because the templates' date filters would turn it into UTC first."""
    return f"{local.strftime(fmt)} {local.tzname()}"


def month_from_param(value: str, *, today: date) -> date | None:
    """The first day of the ``YYYY-MM`` month asked for; today's month for an empty value; None when malformed."""
    if not value:
        return today.replace(day=1)
    match = MONTH.fullmatch(value)
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def month_weeks(first: date) -> list[list[date]]:
    """The whole weeks (Monday to Sunday) that cover ``first``'s month, with the neighbouring months' days."""
    return calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(first.year, first.month)


def shift_month(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def utc_bounds(weeks: list[list[date]]) -> tuple[datetime, datetime]:
    """A UTC window surely holding every instant that falls on one of ``weeks``' days in any time zone (±14 h)."""
    start = datetime.combine(weeks[0][0], time(0), tzinfo=UTC) - timedelta(days=1)
    end = datetime.combine(weeks[-1][-1], time(0), tzinfo=UTC) + timedelta(days=2)
    return start, end


def place_entries(
    items: Iterable[Episode | Video], weeks: list[list[date]], *, now: datetime
) -> dict[date, list[CalendarEntry]]:
    """Each published item on its local publishing day within ``weeks``, in time order."""
    shown = {day for week in weeks for day in week}
    days: dict[date, list[CalendarEntry]] = defaultdict(list)
    for item in items:
        local = local_publish_at(item)
        if local is not None and local.date() in shown:
            state = "scheduled" if local > now else "live"
            days[local.date()].append(CalendarEntry(item, local, state))
    for entries in days.values():
        entries.sort(key=lambda e: (e.item.publish_at, e.kind, e.item.pk))
    return dict(days)
