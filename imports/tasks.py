"""Thin Celery tasks for imports."""

from __future__ import annotations

from celery import shared_task

from imports import services


@shared_task(name="imports.run", ignore_result=True, acks_late=True)
def run(job_id: int) -> None:
    services.import_run(job_id=job_id)


@shared_task(name="imports.download", ignore_result=True, acks_late=True)
def download(item_id: int) -> None:
    services.import_item_download(item_id=item_id)


@shared_task(name="imports.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    return services.imports_sweep()
