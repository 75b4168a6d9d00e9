"""Celery tasks: take ids, call a service. Nothing else."""

from __future__ import annotations

import os
import socket

from celery import shared_task

from episodes.services import processing


@shared_task(name="episodes.process_media", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def process_media(job_id: int) -> None:
    processing.job_run(job_id=job_id, worker_id=f"{socket.gethostname()}:{os.getpid()}")


@shared_task(name="episodes.sweep_stale_jobs", ignore_result=True)
def sweep_stale_jobs() -> list[int]:
    return processing.jobs_sweep()


@shared_task(name="episodes.expire_uploads", ignore_result=True)
def expire_uploads() -> int:
    from episodes.services.resumable import uploads_expire

    return uploads_expire()
