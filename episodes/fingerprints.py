"""Cheap fingerprints of what public responses are made from: one query says whether a cached body is still true.

    state = article_state(external_id="a1")     # PublicState(fingerprint, next_change) or None (unknown article)
    state = item_state("video", 3)               # the same for one episode or video (oEmbed, pages)

A fingerprint changes when anything an anonymous reader's response shows changes: an item is published,
unpublished or reaches its scheduled time (live count, ids and publish times), an item, its show or the article is
edited (``updated_at``, which every service writes), links are added, removed or reordered (link ids and
positions), media is re-processed, its tags rewritten (new file URLs) or a transcript added or replaced
(rendition/transcript ids, counts, stamps).
``next_change`` is the earliest scheduled publish time among the linked items: a shared cache must not keep the
response past it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from django.db import connection, models
from django.db.models import F, Func, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from episodes.models import Article, ArticleEpisode, ArticleVideo, Episode, Rendition, Show, Status, Transcript, Video
from episodes.selectors import is_live_q

INTEGER, MOMENT = models.BigIntegerField(), models.DateTimeField()
# Σ(id + 2³²) = count·2³² + Σ id: both in one aggregate (Σ id stays below 2³² for any realistic table). New rows
# always get larger ids, so the pair changes whenever rows are added, removed or replaced.
_COUNTED_ID = F("id") + 2**32


@dataclass(frozen=True)
class PublicState:
    fingerprint: str
    next_change: datetime | None


def _scalar(qs: QuerySet[Any], function: str, field: str | Any, output: models.Field[Any, Any]) -> Subquery:
    """An aggregate over ``qs`` as a scalar subquery (no GROUP BY: always one row)."""
    expression = Func(F(field) if isinstance(field, str) else field, function=function, output_field=output)
    return Subquery(qs.order_by().annotate(v=expression).values("v")[:1], output_field=output)


def _owned(prefix: str, owners: dict[str, Any], now: datetime) -> dict[str, Subquery]:
    """Aggregates over items matching ``owners`` (a filter on Episode/Video), their renditions, transcripts, shows."""
    model = Episode if prefix == "e" else Video
    field = "episode" if prefix == "e" else "video"
    items = model.objects.filter(**owners)
    live = items.filter(is_live_q(now))
    scheduled = items.filter(status=Status.PUBLISHED, publish_at__gt=now)
    owned = {f"{field}__{k}": v for k, v in owners.items()}
    renditions = Rendition.objects.filter(**owned)
    transcripts = Transcript.objects.filter(**owned)
    shows = Show.objects.filter(**{f"{field}s__{k}": v for k, v in owners.items()})
    return {
        f"{prefix}_live": _scalar(live, "SUM", _COUNTED_ID, INTEGER),
        f"{prefix}_live_at": _scalar(live, "MAX", "publish_at", MOMENT),
        f"{prefix}_edited": _scalar(items, "MAX", "updated_at", MOMENT),
        f"{prefix}_next": _scalar(scheduled, "MIN", "publish_at", MOMENT),
        f"{prefix}_r": _scalar(renditions, "SUM", _COUNTED_ID, INTEGER),
        # A tag rewrite swaps files in place (same rows, new versioned URLs) and moves created_at on.
        f"{prefix}_r_at": _scalar(renditions, "MAX", "created_at", MOMENT),
        f"{prefix}_t": _scalar(transcripts, "SUM", _COUNTED_ID, INTEGER),
        f"{prefix}_t_bytes": _scalar(transcripts, "SUM", "byte_size", INTEGER),  # replaced in place
        f"{prefix}_show_edited": _scalar(shows, "MAX", "updated_at", MOMENT),
    }


def _links(prefix: str, model: type[ArticleEpisode] | type[ArticleVideo], owner: str) -> dict[str, Subquery]:
    links = model.objects.filter(article=OuterRef("pk"))
    # Σ position·item id moves when links are reordered; count and Σ id when they are replaced.
    weighted = F("position") * F(f"{owner}_id") + F("position")
    return {
        f"{prefix}_links": _scalar(links, "SUM", _COUNTED_ID, INTEGER),
        f"{prefix}_link_order": _scalar(links, "SUM", weighted, INTEGER),
    }


# A query of ~30 scalar subqueries takes the ORM tens of milliseconds to compile and the database well under one
# to run, so each shape is compiled once per process with sentinel values that are swapped for the real ones.
_KEY_SENTINEL = "\x00fingerprint-key\x00"
_ID_SENTINEL = 8_765_432_109_876
_NOW_SENTINEL = datetime(2001, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    now_slots: tuple[int, ...]
    key_slots: tuple[int, ...]
    next_columns: tuple[int, ...]
    qmark_sql: str = ""  # SQLite: converted once (Django converts %s to ? with a regex on every execution)


_compiled: dict[tuple[str, str], _Compiled] = {}
_compiled_lock = threading.Lock()


def _prep_now(value: datetime) -> Any:
    return MOMENT.get_db_prep_value(value, connection)


def _compile(name: str, qs: QuerySet[Any], key_sentinel: object) -> _Compiled:
    names = list(qs.query.annotations)
    sql, params = qs.values_list("pk", "updated_at", *names).query.sql_with_params()
    now_values = (_NOW_SENTINEL, _prep_now(_NOW_SENTINEL))
    qmark = ""
    if connection.vendor == "sqlite":
        from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

        qmark = FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")
    return _Compiled(
        qmark_sql=qmark,
        sql=sql,
        params=tuple(params),
        now_slots=tuple(i for i, p in enumerate(params) if any(p == v for v in now_values)),
        key_slots=tuple(i for i, p in enumerate(params) if p == key_sentinel),
        next_columns=tuple(2 + i for i, n in enumerate(names) if n.endswith("_next")),
    )


def _run(name: str, build: Callable[[Any, datetime], QuerySet[Any]], key_sentinel: object, key: object) -> Any:
    cache_key = (connection.vendor, name)
    compiled = _compiled.get(cache_key)
    if compiled is None:
        with _compiled_lock:
            compiled = _compiled.setdefault(cache_key, _compile(name, build(key_sentinel, _NOW_SENTINEL), key_sentinel))
    now = timezone.now()
    params = list(compiled.params)
    prepped = _prep_now(now)
    for i in compiled.now_slots:
        params[i] = now if compiled.params[i] is _NOW_SENTINEL else prepped
    for i in compiled.key_slots:
        params[i] = key
    with connection.cursor() as cursor:
        if compiled.qmark_sql:
            raw = cursor.cursor
            sqlite3.Cursor.execute(raw, compiled.qmark_sql, params)
            row = raw.fetchone()
        else:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
    if row is None:
        return None
    upcoming = [_moment(row[i]) for i in compiled.next_columns if row[i] is not None]
    return PublicState(hashlib.sha256(repr(row).encode()).hexdigest()[:32], min(upcoming) if upcoming else None)


def _moment(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else parse_datetime(str(value))
    if moment is None:
        raise ValueError(f"not a time: {value!r}")
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def _article_qs(field: str) -> Callable[[Any, datetime], QuerySet[Any]]:
    def build(key: Any, now: datetime) -> QuerySet[Any]:
        article = OuterRef("pk")
        return Article.objects.filter(**{field: key}).annotate(
            **_links("a_e", ArticleEpisode, "episode"),
            **_links("a_v", ArticleVideo, "video"),
            **_owned("e", {"article_links__article": article}, now),
            **_owned("v", {"article_links__article": article}, now),
        )

    return build


def article_state(*, external_id: str | None = None, url: str | None = None) -> PublicState | None:
    """The fingerprint of an article's public media response (one query); None when no such article."""
    if external_id is not None:
        return cast(PublicState | None, _run("article_id", _article_qs("external_id"), _KEY_SENTINEL, external_id))
    return cast(PublicState | None, _run("article_url", _article_qs("url"), _KEY_SENTINEL, url or ""))


def _item_qs(kind: str) -> Callable[[Any, datetime], QuerySet[Any]]:
    model: type[Episode] | type[Video] = Episode if kind == "episode" else Video
    prefix = "e" if kind == "episode" else "v"

    def build(key: Any, now: datetime) -> QuerySet[Any]:
        return model.objects.filter(Q(pk=key) & is_live_q(now)).annotate(**_owned(prefix, {"pk": OuterRef("pk")}, now))

    return build


def item_state(kind: str, item_id: int) -> PublicState | None:
    """The fingerprint of one episode's or video's public output (oEmbed, pages); None when not live."""
    kind = "episode" if kind == "episode" else "video"
    return cast(PublicState | None, _run(f"item_{kind}", _item_qs(kind), _ID_SENTINEL, int(item_id)))
