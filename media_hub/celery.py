"""The Celery app: ``celery -A media_hub worker``; settings come from Django's ``CELERY_*``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "media_hub.settings")

app = Celery("media_hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
