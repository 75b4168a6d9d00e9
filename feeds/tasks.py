"""Celery tasks of feeds: take ids or plain data, call a service. Nothing else."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from feeds import analytics, items
from feeds.websub import websub_announce, websub_scan

log = logging.getLogger(__name__)


@shared_task(name="feeds.websub_ping", ignore_result=True)
def websub_ping(show_id: int) -> int | None:
    # No Celery retries: a failure is written to the show's outbox row and the beat scan resends it with back-off.
    return websub_announce(show_id=show_id)


@shared_task(name="feeds.websub_scan", ignore_result=True)
def websub_scan_task() -> list[int]:
    if not settings.WEBSUB_HUB_URL:
        return []
    show_ids = websub_scan()
    for show_id in show_ids:
        try:
            websub_ping.apply_async(args=(show_id,), retry=False)
        except Exception:  # noqa: BLE001 - the claimed rows stay due: a later scan sends them (the row is the outbox)
            log.warning("broker unavailable; the WebSub scan will resend", exc_info=True)
            break
    return show_ids


@shared_task(name="feeds.record_download", ignore_result=True)
def record_download(hit: dict[str, Any]) -> bool:
    return record_downloads([hit]) > 0


@shared_task(name="feeds.record_downloads", ignore_result=True)
def record_downloads(hits: list[dict[str, Any]]) -> int:
    """Record a batch of hits (feeds.hit_sender); returns how many counted as downloads."""
    counted = 0
    for data in hits:
        hit = analytics.DownloadHit.from_dict(data)
        if hit is not None and analytics.download_record(hit=hit):
            counted += 1
    return counted


@shared_task(name="feeds.prune_download_events", ignore_result=True)
def prune_download_events() -> int:
    return analytics.prune_listener_windows()


@shared_task(name="feeds.prepare_items", ignore_result=True)
def prepare_items() -> int:
    return items.items_prepare_all()
