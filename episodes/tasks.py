"""Celery tasks: take ids, call a service. Nothing else.

Queues, time limits and retry policy are configuration (``CELERY_*`` in settings): ``process_media`` runs on the
``media`` queue with soft/hard time limits scaled to the longest allowed source; everything else is light work
on ``default``.
"""

from __future__ import annotations

import os
import socket

from celery import shared_task
from django.db import InterfaceError, OperationalError

from episodes.services import processing


@shared_task(
    name="episodes.process_media",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    # The database was unreachable even after job_run's in-place retries (e.g. at claim time): try later.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=1800,
    max_retries=24,
)
def process_media(job_id: int) -> None:
    processing.job_run(job_id=job_id, worker_id=f"{socket.gethostname()}:{os.getpid()}")


@shared_task(name="episodes.rewrite_tags", acks_late=True, ignore_result=True)
def rewrite_tags(rewrite_id: int) -> None:
    from episodes.services.retagging import tags_rewrite_run

    tags_rewrite_run(rewrite_id=rewrite_id, worker_id=f"{socket.gethostname()}:{os.getpid()}")


@shared_task(
    name="episodes.process_part",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=8,
)
def process_part(part_id: int) -> None:
    """One chunk, the programme's sound, or the join of a chunked video job (episodes.services.chunked)."""
    from episodes.services.chunked import part_run

    part_run(part_id=part_id, worker_id=f"{socket.gethostname()}:{os.getpid()}")


@shared_task(name="episodes.sweep_stale_jobs", ignore_result=True)
def sweep_stale_jobs() -> list[int]:
    from episodes.services.clips import clips_sweep
    from episodes.services.liveness import heartbeats_forget
    from episodes.services.retagging import tags_sweep

    heartbeats_forget()
    clips_sweep()  # clips whose worker died or whose message never reached (or was lost by) the broker
    requeued = processing.jobs_sweep()
    tags_sweep()
    return requeued


@shared_task(name="episodes.expire_uploads", ignore_result=True)
def expire_uploads() -> int:
    from episodes.services.resumable import uploads_expire

    return uploads_expire()


@shared_task(name="episodes.render_clip", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def render_clip(clip_id: int) -> None:
    """Render one queued social clip (episodes.services.clips)."""
    from episodes.services.clips import clip_render

    clip_render(clip_id=clip_id, worker_id=f"{socket.gethostname()}:{os.getpid()}")
