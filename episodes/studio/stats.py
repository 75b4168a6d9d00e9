"""Figures for the studio's statistics pages: downloads per day (90 days), by app, first 7/30 days of each
episode side by side, embed views; drawn as server-side SVG bars (no chart library) with CSV export.

Reads the daily tables the analytics pipeline keeps (``feeds.DailyDownloads`` via ``feeds.analytics.download_stats``,
``episodes.EmbedView``), a constant number of queries per page.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Sum

from episodes.models import EmbedView, Episode, Show
from feeds.analytics import download_stats
from feeds.models import DailyDownloads

DAYS = 90
COMPARE_EPISODES = 20


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    label: str


def daily_series(rows: list[dict[str, Any]], since: date, days: int, key: str = "downloads") -> list[tuple[date, int]]:
    """Every day of the period, zeros included (a chart with gaps would lie about quiet days)."""
    by_day = {row["day"]: int(row[key]) for row in rows}
    return [(since + timedelta(days=n), by_day.get(since + timedelta(days=n), 0)) for n in range(days)]


def bars(series: list[tuple[date, int]], *, width: float = 900, height: float = 160) -> list[Bar]:
    top = max((n for _, n in series), default=0) or 1
    step = width / max(1, len(series))
    return [
        Bar(
            x=round(i * step, 2),
            y=round(height - n / top * height, 2),
            height=round(n / top * height, 2),
            label=f"{day.isoformat()}: {n}",
        )  # fmt: skip
        for i, (day, n) in enumerate(series)
    ]


def first_days(show: Show, episodes: list[Episode]) -> list[dict[str, Any]]:
    """Downloads in each episode's first 7 and 30 days after it went live (the standard podcast comparison)."""
    starts = {e.pk: e.first_published_at.date() for e in episodes if e.first_published_at}
    if not starts:
        return []
    rows = (
        DailyDownloads.objects.filter(show=show, episode_id__in=list(starts), day__gte=min(starts.values()))
        .values("episode_id", "day")
        .annotate(n=Sum("downloads"))
    )
    totals = {pk: [0, 0] for pk in starts}
    for row in rows:
        age = (row["day"] - starts[row["episode_id"]]).days
        if 0 <= age < 30:
            totals[row["episode_id"]][1] += int(row["n"])
            if age < 7:
                totals[row["episode_id"]][0] += int(row["n"])
    return [{"episode": e, "first_7": totals[e.pk][0], "first_30": totals[e.pk][1]} for e in episodes if e.pk in starts]


def stats_context(*, show: Show, episode: Episode | None, today: date) -> dict[str, Any]:
    since = today - timedelta(days=DAYS - 1)
    figures = download_stats(show_id=show.pk, episode_id=episode.pk if episode else None, since=since, until=today)
    downloads = daily_series(figures["by_day"], since, DAYS)
    embeds_qs = EmbedView.objects.filter(show=show, day__gte=since, day__lte=today)
    if episode is not None:
        embeds_qs = embeds_qs.filter(episode=episode)
    embed_rows: list[dict[str, Any]] = [
        dict(r) for r in embeds_qs.values("day").annotate(n=Count("id")).order_by("day")
    ]
    embeds = daily_series(embed_rows, since, DAYS, key="n")
    compare: list[dict[str, Any]] = []
    if episode is None:
        recent = list(
            Episode.objects.filter(show=show, first_published_at__isnull=False).order_by("-first_published_at")[
                :COMPARE_EPISODES
            ]
        )
        compare = first_days(show, recent)
    elif episode.first_published_at:
        compare = first_days(show, [episode])
    return {
        "show": show, "episode": episode, "since": since, "until": today, "total": figures["total"],
        "downloads": downloads, "download_bars": bars(downloads), "by_app": figures["by_app"],
        "by_platform": figures["by_platform"],
        "embeds": embeds, "embed_bars": bars(embeds), "embed_total": sum(n for _, n in embeds),
        "compare": compare, "peak": max((n for _, n in downloads), default=0),
        "compare_max": max((c["first_30"] for c in compare), default=0) or 1,
    }  # fmt: skip


def stats_csv(context: dict[str, Any], what: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    if what == "apps":
        writer.writerow(["app", "downloads"])
        writer.writerows([row["app"], row["downloads"]] for row in context["by_app"])
    elif what == "platforms":
        writer.writerow(["platform", "downloads"])
        writer.writerows([row["platform"], row["downloads"]] for row in context["by_platform"])
    elif what == "episodes":
        writer.writerow(["episode_id", "title", "first_published_at", "downloads_first_7_days",
                         "downloads_first_30_days"])  # fmt: skip
        writer.writerows(
            [c["episode"].pk, c["episode"].title, c["episode"].first_published_at.isoformat(), c["first_7"],
             c["first_30"]]
            for c in context["compare"]
        )  # fmt: skip
    else:
        writer.writerow(["day", "downloads", "embed_views"])
        embeds = dict(context["embeds"])
        writer.writerows([day.isoformat(), n, embeds.get(day, 0)] for day, n in context["downloads"])
    return out.getvalue()
