"""WSGI entry point for gunicorn: ``gunicorn media_hub.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "media_hub.settings")
application = get_wsgi_application()

# Connect the per-process request counters before the first request (the URLconf loads lazily).
import media_hub.metrics  # noqa: E402, F401
