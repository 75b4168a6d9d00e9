"""Thin Celery tasks for members (beat: hourly pruning)."""

from __future__ import annotations

from celery import shared_task

from members import services, webhook


@shared_task(name="members.prune", ignore_result=True)
def prune() -> int:
    """Drop token sightings past MEMBERS_USE_RETENTION_DAYS and webhook events past 30 days."""
    return services.member_uses_prune() + webhook.webhook_events_prune()
