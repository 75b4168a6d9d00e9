"""The Celery app: ``celery -A media_hub worker``; settings come from Django's ``CELERY_*``."""

import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "media_hub.settings")

app = Celery("media_hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**kwargs: Any) -> None:
    """Keep Django's LOGGING (JSON lines, LOG_LEVEL): Celery would otherwise set the root logger to its --loglevel,
    WARNING by default, and drop the job log lines the README documents."""
    import django

    django.setup()  # applies settings.LOGGING (idempotent; the worker's Django fixup calls it too)


@worker_process_init.connect
def own_database_pool(**kwargs: Any) -> None:
    """A prefork child opens its own PostgreSQL pool instead of sharing the parent's sockets."""
    from media_hub.db_pool import forget_inherited_pools

    forget_inherited_pools()
